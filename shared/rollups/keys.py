"""Rollup document identities: (scope, key, grain, window)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from shared.kpis.state import Grain, Scope

__all__ = ["BACKLOG_IDS", "BACKLOG_SHARDS", "ROLLUPS_CONTAINER", "RollupKey", "backlog_id", "backlog_shard_id"]

ROLLUPS_CONTAINER = "rollups"
BACKLOG_IDS = ("backlog|", "backlog}")
"""The range [low, high) of every open-orders document's id (and partition key): '}' follows '|'."""
BACKLOG_SHARDS = 16
"""Open-order documents per store: a page rewrites the shards of the orders it holds, not the store's whole backlog."""


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

    def fields(self) -> dict[str, str]:
        """The identity fields every rollup document starts with."""
        return {
            "id": self.id,
            "pk": self.pk,
            "scope": self.scope,
            "key": self.key,
            "grain": self.grain,
            "window": self.window,
        }


def backlog_id(store_id: str) -> str:
    """A store's one open-orders document, as written before the shards (kept while it exists)."""
    return f"backlog|{store_id}"


def backlog_shard_id(store_id: str, order_key: str) -> str:
    """The open-orders shard of `order_key` in its store (CRC-32 of the key: the same in every process)."""
    return f"backlog|{store_id}|{zlib.crc32(order_key.encode()) % BACKLOG_SHARDS:02d}"
