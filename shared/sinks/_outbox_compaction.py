"""The outbox's record of a table's compactions: clears, the reseed's span, and a history pair's switch.

A mixin of `Outbox` (kept apart for size): the state is in the table's sequence
document (`compact_at`, `reseed_end`: where the latest reseed lies) and its cursor
(`cleared_rows`, `cleared_for`: the last clear; `paired_for`, `serving`, `switched_for`:
a history pair's standby clear, which dataset the report reads, the last switch).
See `compaction` and `history_pair`.
"""

from __future__ import annotations

import dataclasses

from shared.sinks._outbox_docs import OUTBOX_CONTAINER, Cursor, SeqState
from shared.sinks.outbox_model import OutboxConflict
from shared.stores.port import DocumentStore, WriteOp

__all__ = ["CompactionCursor"]


class CompactionCursor:
    """Compaction state of the outbox's tables (needs `_store`, `_cursors`, `_seq` and `_cursor` of `Outbox`)."""

    _store: DocumentStore
    _cursors: dict[str, Cursor]

    def _seq(self, table: str) -> SeqState:
        raise NotImplementedError

    def _cursor(self, table: str) -> Cursor:
        raise NotImplementedError

    def clear_barrier(self, table: str) -> int | None:
        """The sequence before which the target table must be cleared, while a compaction waits for it."""
        barrier = self._seq(table).compact_at
        cursor = self._cursors.get(table) or self._cursor(table)
        return barrier if barrier > cursor.cleared_for else None

    def table_rows(self, table: str) -> int:
        """Rows the target holds in `table`: accepted since the table was last cleared (`note_cleared`)."""
        cursor = self._cursors.get(table) or self._cursor(table)
        return cursor.pushed_rows - cursor.cleared_rows

    def note_cleared(self, table: str, barrier: int | None = None, *, standby: bool = False) -> None:
        """Record that the target's `table` was emptied (Power BI's delete-rows call succeeded).

        `barrier`: the compaction the clear served (`clear_barrier`), so it is not cleared twice.
        `standby`: a history pair's standby was emptied, so this compaction ends in a switch.
        """
        cursor = self._cursor(table)
        served = cursor.cleared_for if barrier is None else max(cursor.cleared_for, barrier)
        paired = served if standby else cursor.paired_for
        cleared = dataclasses.replace(cursor, cleared_rows=cursor.pushed_rows, cleared_for=served, paired_for=paired)
        self._write_cursor(table, cursor, cleared)

    def _write_cursor(self, table: str, cursor: Cursor, changed: Cursor) -> None:
        doc = changed.doc(table)
        op = WriteOp.create(doc) if cursor.etag is None else WriteOp.replace(doc, cursor.etag)
        result = self._store.write_many(OUTBOX_CONTAINER, [op])[0]
        if not result.ok or result.doc is None:
            raise OutboxConflict(f"the cursor of {table!r} moved under us: a second drain is running")
        self._cursors[table] = Cursor.of(result.doc)

    # -- a history pair: two datasets, one report (see `history_pair`) ----------------------

    def reseed_span(self, table: str) -> tuple[int, int]:
        """(first chunk, first chunk after) of the latest compaction's reseed; (0, 0) before any."""
        seq = self._seq(table)
        return seq.compact_at, seq.reseed_end

    def serving(self, table: str) -> int:
        """Which dataset of a history pair the report is bound to (0 or 1), as last recorded."""
        return (self._cursors.get(table) or self._cursor(table)).serving

    def switch_due(self, table: str) -> int | None:
        """The compaction whose report switch is due: its reseed is in the standby (cleared, then pushed), the switch
        not done. A compaction whose clear emptied a single dataset (before the pair was configured) never is."""
        start, end = self.reseed_span(table)
        cursor = self._cursor(table)
        due = start > cursor.switched_for and cursor.paired_for >= start and cursor.seq >= end
        return start if due else None

    def note_switched(self, table: str, barrier: int) -> None:
        """Record that the report now reads the other dataset of the pair (the rebind call succeeded)."""
        cursor = self._cursor(table)
        if cursor.switched_for >= barrier:
            return
        self._write_cursor(table, cursor, dataclasses.replace(cursor, serving=1 - cursor.serving, switched_for=barrier))

    def compacting(self, table: str) -> bool:
        """True from a compaction's enqueue until its reseed is pushed (the pusher's cursor passed it)."""
        start, end = self.reseed_span(table)
        cursor = self._cursors.get(table) or self._cursor(table)
        return start > cursor.cleared_for or cursor.seq < end
