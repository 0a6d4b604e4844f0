"""A child as a rollup document keeps it: packed JSON text of ``[version, as_of, segments]``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson

from shared.rollups.segments import Segments

__all__ = ["Child", "child_of"]


class Child(NamedTuple):
    """What a parent keeps of one child."""

    version: int
    as_of: str | None
    segments: Segments


def child_of(kept: str | Mapping[str, Any]) -> Child:
    """A child as kept in `children`: packed JSON text, or the object written before packing."""
    if isinstance(kept, str):
        return Child(*orjson.loads(kept))
    return Child(kept["v"], kept.get("as_of"), kept["segments"])
