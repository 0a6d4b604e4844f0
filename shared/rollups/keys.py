"""Rollup document identities: (scope, key, grain, window)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.kpis.state import Grain, Scope

__all__ = ["BACKLOG_IDS", "ROLLUPS_CONTAINER", "RollupKey", "backlog_id"]

ROLLUPS_CONTAINER = "rollups"
BACKLOG_IDS = ("backlog|", "backlog}")
"""The range [low, high) of every open-orders document's id (and partition key): '}' follows '|'."""


@dataclass(frozen=True, slots=True)
class RollupKey:
    """One KPI window of one scope member."""

    scope: Scope
    key: str
    grain: Grain
    window: str

    @property
    def id(self) -> str:
        return f"kpi|{self.scope}|{self.key}|{self.grain}|{self.window}"

    @property
    def pk(self) -> str:
        # One logical partition per member and UTC (or local) date keeps writes spread out.
        return f"kpi|{self.scope}|{self.key}|{self.window[:10]}"


def backlog_id(store_id: str) -> str:
    """The open-orders document of a store."""
    return f"backlog|{store_id}"
