"""Identities and shapes of the outbox container's documents (private to `outbox`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from shared.sinks.port import Row
from shared.stores.port import Document

__all__ = [
    "OUTBOX_CONTAINER",
    "Cursor",
    "SeqState",
    "chunk_doc",
    "chunk_pk",
    "cursor_id",
    "hour_cursor_key",
    "rejected_doc",
    "seq_id",
    "state_key",
]

OUTBOX_CONTAINER: Final = "outbox"
NEVER: Final = -1
"""Per-document ``ttl`` that overrides the container's 7 days: pending rows must survive any outage."""


def seq_id(table: str) -> str:
    """Id (and partition key) of a table's sequence document: next sequence, committed, rows enqueued."""
    return f"seq|{table}"


def cursor_id(table: str) -> str:
    """Id (and partition key) of a table's cursor: the next row to push, rows pushed and rejected."""
    return f"cursor|{table}"


def chunk_pk(table: str) -> str:
    """One logical partition per table keeps the ordered scan of pending chunks a single-partition query."""
    return f"chunk|{table}"


def state_key(doc: Mapping[str, Any]) -> tuple[str, str]:
    """(pk, id) of the delta state of a minute rollup document."""
    ident = f"dstate|{doc['scope']}|{doc['key']}|{doc['window']}"
    return f"dstate|{doc['scope']}|{doc['key']}|{str(doc['window'])[:10]}", ident


def hour_cursor_key(hour: Mapping[str, Any]) -> tuple[str, str]:
    """(pk, id) of how far the buckets of an hour above the store are enqueued (beside its minutes' states)."""
    ident = f"dhour|{hour['scope']}|{hour['key']}|{hour['window']}"
    return f"dstate|{hour['scope']}|{hour['key']}|{str(hour['window'])[:10]}", ident


@dataclass(frozen=True, slots=True)
class SeqState:
    """A table's sequence document as read (etag None: not written yet)."""

    next: int = 1
    committed: int = 0
    enqueued_rows: int = 0
    etag: str | None = None
    compact_at: int = 0
    """First chunk of the latest compaction's reseed: the target table is cleared before it is pushed."""
    reseed_end: int = 0
    """First chunk after the latest compaction's reseed (a history pair switches its report there)."""

    @classmethod
    def of(cls, doc: Document | None) -> SeqState:
        if doc is None:
            return cls()
        return cls(
            doc["next"],
            doc["committed"],
            doc["enqueued_rows"],
            doc["_etag"],
            doc.get("compact_at", 0),
            doc.get("reseed_end", 0),
        )

    def doc(
        self,
        table: str,
        *,
        next_seq: int,
        committed: int,
        added_rows: int,
        compact_at: int | None = None,
        reseed_end: int | None = None,
    ) -> Document:
        return {
            "compact_at": self.compact_at if compact_at is None else compact_at,
            "reseed_end": self.reseed_end if reseed_end is None else reseed_end,
            "id": seq_id(table),
            "pk": seq_id(table),
            "kind": "seq",
            "table": table,
            "next": next_seq,
            "committed": committed,
            "enqueued_rows": self.enqueued_rows + added_rows,
            "ttl": NEVER,
        }


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a table's drain stands: the next row is row `offset` of chunk `seq` (or the first chunk after)."""

    seq: int = 1
    offset: int = 0
    pushed_rows: int = 0
    rejected_rows: int = 0
    requests: int = 0
    last_pushed_at: float | None = None
    etag: str | None = None
    cleared_rows: int = 0
    """`pushed_rows` when the target table was last cleared (delete rows): rows in the table = pushed - cleared."""
    cleared_for: int = 0
    """The `SeqState.compact_at` that the last clear served (a compaction is pending while this is lower)."""
    serving: int = 0
    """History pair only: which of its two datasets the report is bound to (0 or 1)."""
    switched_for: int = 0
    """History pair only: the `SeqState.compact_at` whose report switch is done."""
    paired_for: int = 0
    """History pair only: the latest `SeqState.compact_at` whose clear emptied the standby (not the table a
    report reads): only such a compaction ends in a switch (one run with a single dataset never does)."""

    @classmethod
    def of(cls, doc: Document | None) -> Cursor:
        if doc is None:
            return cls()
        return cls(
            doc["seq"],
            doc["offset"],
            doc["pushed_rows"],
            doc["rejected_rows"],
            doc["requests"],
            doc.get("last_pushed_at"),
            doc["_etag"],
            doc.get("cleared_rows", 0),
            doc.get("cleared_for", 0),
            doc.get("serving", 0),
            doc.get("switched_for", 0),
            doc.get("paired_for", 0),
        )

    def doc(self, table: str) -> Document:
        return {
            "id": cursor_id(table),
            "pk": cursor_id(table),
            "kind": "cursor",
            "table": table,
            "seq": self.seq,
            "offset": self.offset,
            "pushed_rows": self.pushed_rows,
            "rejected_rows": self.rejected_rows,
            "requests": self.requests,
            "last_pushed_at": self.last_pushed_at,
            "cleared_rows": self.cleared_rows,
            "cleared_for": self.cleared_for,
            "serving": self.serving,
            "switched_for": self.switched_for,
            "paired_for": self.paired_for,
            "ttl": NEVER,
        }


def chunk_doc(table: str, seq: int, rows: Sequence[Row], enqueued_at: float) -> Document:
    """Rows enqueued together, in order, under one sequence number."""
    return {
        "id": f"chunk|{table}|{seq:012d}",
        "pk": chunk_pk(table),
        "kind": "chunk",
        "table": table,
        "seq": seq,
        "row_count": len(rows),
        "rows": [dict(r) for r in rows],
        "enqueued_at": enqueued_at,
        "ttl": NEVER,
    }


def rejected_doc(
    table: str, position: tuple[int, int], rows: Sequence[Row], reason: str, at: float, ttl_s: int
) -> Document:
    """Rows the target refused for good, kept for inspection (never silently dropped)."""
    seq, index = position
    return {
        "id": f"rejected|{table}|{seq:012d}|{index:06d}",
        "pk": f"rejected|{table}",
        "kind": "rejected",
        "table": table,
        "rows": [dict(r) for r in rows],
        "reason": reason,
        "rejected_at": at,
        "ttl": ttl_s,
    }
