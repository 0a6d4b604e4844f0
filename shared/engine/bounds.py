"""Checked arithmetic: every integer the engine stores stays exact in every store.

Cosmos DB (like JavaScript) holds JSON numbers as doubles, exact up to 2**53 - 1;
SQLite's JSON up to 2**63 - 1. The smaller is the engine's bound. The contracts
bound each event (`shared.contracts.types`), so only sums can pass it: a primary
document refuses an event whose counters would (the event is dead-lettered as
`value_out_of_range`), and a rollup that would pass it holds the bound and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["MAX_STORED_INT", "overflowing"]

MAX_STORED_INT: Final = 2**53 - 1
"""The largest integer every store keeps exactly (9,007,199,254,740,991)."""


def overflowing(state: Mapping[str, int], increments: Mapping[str, int]) -> str | None:
    """The first counter that adding `increments` to `state` would take past the bound, or None."""
    for name, value in increments.items():
        if state.get(name, 0) + value > MAX_STORED_INT:
            return name
    return None
