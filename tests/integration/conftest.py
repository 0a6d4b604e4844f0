"""Integration fixtures: real emulators (see `tests.fixtures.emulators`)."""

from __future__ import annotations

import sys
from pathlib import Path

# `tests` is a namespace package; make the repository root importable however pytest
# was launched (`python -m pytest` adds it, the `pytest` script does not).
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.fixtures.emulators import azurite, cosmos_target  # noqa: E402

__all__ = ["azurite", "cosmos_target"]
