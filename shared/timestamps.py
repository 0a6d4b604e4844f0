"""RFC 3339 timestamps where text comes in (CLI options, CSV files, HTTP parameters).

One strict rule everywhere: date and time to the second, an optional fraction of up
to six digits, and an offset (``Z`` or ``±hh:mm``); the result is an aware UTC datetime.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

__all__ = ["RFC3339", "parse_rfc3339"]

RFC3339: Final = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:[Zz]|[+-]\d{2}:\d{2})")
"""The accepted shape (checked before parsing: `fromisoformat` alone also takes dates and no offset)."""


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 timestamp with offset, as an aware UTC datetime; ValueError otherwise."""
    if RFC3339.fullmatch(text) is None:
        raise ValueError(f"not an RFC 3339 timestamp with offset: {text!r}")
    try:
        return datetime.fromisoformat(text.replace("z", "Z")).astimezone(UTC)
    except ValueError as exc:  # the right shape, an impossible date or time (2026-02-30, 25:00)
        raise ValueError(f"invalid timestamp {text!r}: {exc}") from None
