"""The durable outbox: rows wait in the store, in order per table, until a sink has accepted them.

Layout (container `outbox`): per table a sequence document (next sequence, committed
sequence, rows enqueued), chunks of rows under increasing sequence numbers, and a
cursor (next row to push, rows pushed / rejected). Pending chunks never expire.

Commit protocol (one writer per table; the sequence document's ETag detects a second):
rows are written as chunks numbered from ``next``, then the sequence document commits
them. A drain only reads chunks up to ``committed``. After a crash, `recover` deletes
uncommitted chunks, and rebuilds the chunk of any delta states that were staged for
it (see `enqueue_deltas`), so a crash loses nothing and duplicates nothing.

Snapshots (tables in `OutboxConfig.latest_wins_tables`) are latest-wins: once a new
snapshot is committed, every older pending chunk whose members (scope, key) all appear
in it is deleted, so at most the newest pending snapshot of each member waits. Their
pending count is read from the chunks themselves, so it stays exact whatever a crash
or a concurrent drain does; a drain that already peeked a dropped chunk may still send
it once (a stale but harmless snapshot, followed by the current one).

Deltas: each minute rollup has a state document with the counters already enqueued
(`parts`) and its version. An enqueue cycle first writes the new states, each with
the rows it stages (``staged_seq``), then the chunk, then the commit. The state
write is the point of no return: the change feed may replay the same rollup versions
(they give no new rows), and recovery recreates the chunk from the staged rows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from shared.rollups.minutes import hour_minutes, keeps_minutes
from shared.sinks._outbox_compaction import CompactionCursor
from shared.sinks._outbox_docs import (
    OUTBOX_CONTAINER,
    Cursor,
    SeqState,
    chunk_doc,
    chunk_pk,
    cursor_id,
    hour_cursor_key,
    rejected_doc,
    seq_id,
    state_key,
)
from shared.sinks.outbox_model import OutboxConfig, OutboxConflict, PendingRows, TableStats
from shared.sinks.port import Row
from shared.sinks.rate_limiter import Clock
from shared.sinks.rows import delta_parts, delta_rows, is_minute_rollup
from shared.sinks.schema import TableSpec
from shared.stores.port import Document, DocumentStore, NotFound, WriteOp

__all__ = ["OUTBOX_CONTAINER", "Outbox", "OutboxConfig", "OutboxConflict", "PendingRows", "TableStats"]


class Outbox(CompactionCursor):
    """Enqueue rows (or rollup changes as delta rows), hand pending rows to a pusher, record acceptance."""

    def __init__(
        self,
        store: DocumentStore,
        tables: Iterable[TableSpec],
        *,
        clock: Clock,
        config: OutboxConfig | None = None,
    ) -> None:
        """`tables` are the tables rows may be enqueued for; `clock` returns epoch seconds."""
        self._store, self._clock = store, clock
        self._tables = {t.name: t for t in tables}
        self.config = config or OutboxConfig()
        self._recovered = False
        self._cursors: dict[str, Cursor] = {}

    @property
    def tables(self) -> tuple[str, ...]:
        """Names of the tables this outbox holds."""
        return tuple(self._tables)

    # -- writing ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        self.recover()
        try:
            yield
        except BaseException:
            self._recovered = False  # whatever half-happened is repaired before the next write
            raise

    def _spec(self, table: str) -> TableSpec:
        try:
            return self._tables[table]
        except KeyError:
            raise ValueError(f"unknown outbox table {table!r}; known: {sorted(self._tables)}") from None

    def _seq(self, table: str) -> SeqState:
        return SeqState.of(self._store.read(OUTBOX_CONTAINER, seq_id(table), seq_id(table)))

    def _commit(
        self,
        table: str,
        seq: SeqState,
        next_seq: int,
        committed: int,
        added_rows: int,
        compact_at: int | None = None,
        reseed_end: int | None = None,
    ) -> None:
        doc = seq.doc(
            table,
            next_seq=next_seq,
            committed=committed,
            added_rows=added_rows,
            compact_at=compact_at,
            reseed_end=reseed_end,
        )
        op = WriteOp.create(doc) if seq.etag is None else WriteOp.replace(doc, seq.etag)
        if not self._store.write_many(OUTBOX_CONTAINER, [op])[0].ok:
            raise OutboxConflict(f"the sequence of {table!r} moved under us: a second outbox writer is running")

    def _create_chunks(self, table: str, first_seq: int, chunks: Sequence[Sequence[Row]]) -> None:
        now = self._clock()
        ops = [WriteOp.create(chunk_doc(table, first_seq + i, rows, now)) for i, rows in enumerate(chunks)]
        if not all(r.ok for r in self._store.write_many(OUTBOX_CONTAINER, ops)):
            raise OutboxConflict(f"a chunk of {table!r} at sequence >= {first_seq} already exists")

    def enqueue_rows(self, table: str, rows: Sequence[Row]) -> int:
        """Append `rows` to `table`, all or none; returns how many. Rows are checked against the table first."""
        spec = self._spec(table)
        for row in rows:
            spec.check_row(row)
        if not rows:
            return 0
        size = self.config.chunk_rows
        chunks = [rows[i : i + size] for i in range(0, len(rows), size)]
        with self._writing():
            seq = self._seq(table)
            self._create_chunks(table, seq.next, chunks)
            self._commit(table, seq, seq.next + len(chunks), seq.next + len(chunks) - 1, len(rows))
            if table in self.config.latest_wins_tables:
                self._supersede(table, seq.next, {_member(row) for row in rows})
        return len(rows)

    def enqueue_reseed(self, table: str, rows: Sequence[Row]) -> int:
        """Enqueue a compaction: the target table is cleared, then refilled with `rows`; returns the barrier.

        `rows` must sum to everything enqueued for `table` so far (see `compaction.reseed_rows`),
        so SUM is the same before the clear and after the reseed. The barrier and the rows are
        committed in one write: rows enqueued before are pushed first (and then cleared), the
        pusher clears the table once it reaches the barrier, and rows after it follow the reseed.
        Run it where the table's rows are enqueued (one writer per table).
        """
        spec = self._spec(table)
        for row in rows:
            spec.check_row(row)
        if not rows:
            raise ValueError(f"nothing to reseed {table!r} with: a compaction needs the rows that replace the table")
        size = self.config.chunk_rows
        chunks = [rows[i : i + size] for i in range(0, len(rows), size)]
        with self._writing():
            seq = self._seq(table)
            self._create_chunks(table, seq.next, chunks)
            end = seq.next + len(chunks)
            self._commit(table, seq, end, end - 1, len(rows), compact_at=seq.next, reseed_end=end)
        return seq.next

    def _supersede(self, table: str, before_seq: int, members: set[tuple[str, str]]) -> None:
        pk = chunk_pk(table)
        cursor = self._cursor(table)
        for chunk in self._store.query(OUTBOX_CONTAINER, pk=pk, where_range={"seq": (cursor.seq, before_seq)}):
            if all(_member(row) in members for row in chunk["rows"]):
                self._delete(pk, chunk["id"])

    def enqueue_deltas(self, docs: Iterable[Mapping[str, Any]]) -> int:
        """Delta rows for changed minute rollups (any other document is ignored); returns rows enqueued.

        Pass rollup documents as the change feed gives them (latest versions, replays
        welcome): a version at or below the one already enqueued adds nothing. An hour
        gives its minutes (a store's, `shared.rollups.store_hours`; a region's, a
        channel's or the chain's, `shared.rollups.buckets`): those that changed since
        the hour's version last enqueued, which a small ``dhour`` document remembers,
        written once the minutes' states are.
        """
        docs = list(docs)
        hours: dict[str, Mapping[str, Any]] = {}
        for doc in docs:
            if keeps_minutes(doc) and (doc["id"] not in hours or hours[doc["id"]]["v"] < doc["v"]):
                hours[doc["id"]] = doc
        cursors = self._store.read_many(OUTBOX_CONTAINER, [hour_cursor_key(h) for h in hours.values()]) if hours else {}
        minutes = [
            minute
            for hour in hours.values()
            for minute in hour_minutes(hour, after=_enqueued_to(cursors.get(hour_cursor_key(hour)[1])))
        ]
        latest: dict[str, Mapping[str, Any]] = {}
        for doc in (*docs, *minutes):
            if is_minute_rollup(doc) and (doc["id"] not in latest or _rank(latest[doc["id"]]) < _rank(doc)):
                latest[doc["id"]] = doc
        ordered = [latest[i] for i in sorted(latest)]
        step = self.config.deltas_per_cycle
        rows = sum(self._enqueue_delta_cycle(ordered[i : i + step]) for i in range(0, len(ordered), step))
        ops = []
        for hour in hours.values():
            pk, ident = hour_cursor_key(hour)
            if _enqueued_to(cursors.get(ident)) < hour["v"]:
                body = {"id": ident, "pk": pk, "kind": "dhour", "v": hour["v"], "ttl": self.config.state_ttl_s}
                ops.append(WriteOp.upsert(body))
        if ops:
            self._store.write_many(OUTBOX_CONTAINER, ops)  # lost or stale: the minutes' states refuse a replay
        return rows

    def _enqueue_delta_cycle(self, docs: Sequence[Mapping[str, Any]]) -> int:
        table = self.config.delta_table
        spec = self._spec(table)
        with self._writing():
            states = self._store.read_many(OUTBOX_CONTAINER, [state_key(d) for d in docs])
            seq = self._seq(table)
            ops: list[WriteOp] = []
            staged: list[dict[str, Any]] = []
            for doc in docs:
                pk, ident = state_key(doc)
                state = states.get(ident)
                previous_v = state["v"] if state else 0
                basis = doc.get("basis")
                if state is not None and state.get("basis") != basis:
                    if basis is None:
                        continue  # a minute document from before its hour kept buckets: the buckets took over
                    previous_v = 0  # the first bucket of a minute enqueued from its document: from its parts
                if previous_v >= doc["v"]:
                    continue  # this version (or a newer one) is already enqueued
                rows = delta_rows(doc, state["parts"] if state else {}, state["v"] if state else 0)
                for row in rows:
                    spec.check_row(row)
                body = {
                    "id": ident,
                    "pk": pk,
                    "kind": "dstate",
                    "v": doc["v"],
                    "basis": basis,
                    "parts": delta_parts(doc),
                    "staged_seq": seq.next if rows else None,
                    "staged_rows": rows,
                    "ttl": self.config.state_ttl_s,
                }
                ops.append(WriteOp.replace(body, state["_etag"]) if state else WriteOp.create(body))
                staged.extend(rows)
            if not ops:
                return 0
            if not all(r.ok for r in self._store.write_many(OUTBOX_CONTAINER, ops)):
                raise OutboxConflict("a delta state changed under us: a second outbox writer is running")
            if staged:
                self._create_chunks(table, seq.next, [staged])
                self._commit(table, seq, seq.next + 1, seq.next, len(staged))
        return len(staged)

    def recover(self) -> None:
        """Repair what a crash or failed write left (idempotent; runs before the first write anyway)."""
        if self._recovered:
            return
        for table in self._tables:
            seq = self._seq(table)
            pk = chunk_pk(table)
            for orphan in self._store.query(OUTBOX_CONTAINER, pk=pk, where_range={"seq": (seq.next, None)}):
                self._delete(pk, orphan["id"])
            if table == self.config.delta_table:
                self._rebuild_staged(table, seq)
            cursor = self._cursor(table)
            for consumed in self._store.query(OUTBOX_CONTAINER, pk=pk, where_range={"seq": (None, cursor.seq)}):
                self._delete(pk, consumed["id"])
        self._recovered = True

    def _rebuild_staged(self, table: str, seq: SeqState) -> None:
        states = self._store.query(
            OUTBOX_CONTAINER, where={"kind": "dstate"}, where_range={"staged_seq": (seq.next, None)}
        )
        by_seq: dict[int, list[Document]] = {}
        for state in states:
            by_seq.setdefault(state["staged_seq"], []).append(state)
        for number in sorted(by_seq):
            rows = [row for state in sorted(by_seq[number], key=lambda s: s["id"]) for row in state["staged_rows"]]
            self._create_chunks(table, number, [rows])
            self._commit(table, seq, number + 1, number, len(rows))
            seq = self._seq(table)

    def _pending_in_chunks(self, table: str, cursor: Cursor, committed: int) -> int:
        pk = chunk_pk(table)
        chunks = self._store.query(OUTBOX_CONTAINER, pk=pk, where_range={"seq": (cursor.seq, committed + 1)})
        return sum(c["row_count"] - (cursor.offset if c["seq"] == cursor.seq else 0) for c in chunks)

    def _delete(self, pk: str, ident: str) -> None:
        with contextlib.suppress(NotFound):
            self._store.delete(OUTBOX_CONTAINER, pk, ident)

    # -- draining -----------------------------------------------------------------------

    def _cursor(self, table: str) -> Cursor:
        cursor = Cursor.of(self._store.read(OUTBOX_CONTAINER, cursor_id(table), cursor_id(table)))
        self._cursors[table] = cursor
        return cursor

    def peek(self, table: str, max_rows: int) -> PendingRows:
        """Up to `max_rows` committed rows after the cursor, in order (nothing is claimed or changed)."""
        self._spec(table)
        cursor, committed = self._cursor(table), self._seq(table).committed
        rows: list[Row] = []
        positions: list[tuple[int, int]] = []
        sizes: dict[int, int] = {}
        first_enqueued: float | None = None
        start = cursor.seq
        while len(rows) < max_rows:
            want = math.ceil((max_rows - len(rows)) / self.config.chunk_rows) + 1
            chunks = self._store.query(
                OUTBOX_CONTAINER,
                pk=chunk_pk(table),
                where_range={"seq": (start, committed + 1)},
                order_by="seq",
                limit=want,
            )
            for chunk in chunks:
                number, offset = chunk["seq"], cursor.offset if chunk["seq"] == cursor.seq else 0
                first_enqueued = chunk["enqueued_at"] if first_enqueued is None else first_enqueued
                sizes[number] = chunk["row_count"]
                take = chunk["rows"][offset : offset + max_rows - len(rows)]
                rows.extend(take)
                positions.extend((number, offset + i) for i in range(len(take)))
                if len(rows) >= max_rows:
                    break
            if not chunks:
                break
            start = chunks[-1]["seq"] + 1
        return PendingRows(table, tuple(rows), tuple(positions), sizes, first_enqueued)

    def ack(self, pending: PendingRows, start: int, count: int, *, rejected_reason: str | None = None) -> None:
        """Record that rows ``pending.rows[start:start + count]`` were accepted (or, with a reason, refused).

        Calls for one `pending` must come in order (start = rows already acknowledged).
        Refused rows are kept in a ``rejected`` document before the cursor moves past them.
        """
        if count <= 0:
            return
        table = pending.table
        cursor = self._cursors.get(table) or self._cursor(table)
        if (cursor.seq, cursor.offset) > pending.positions[start]:
            raise OutboxConflict(f"rows of {table!r} were acknowledged twice: a second drain is running")
        now = self._clock()
        if rejected_reason is not None:
            doc = rejected_doc(
                table,
                pending.positions[start],
                pending.rows[start : start + count],
                rejected_reason,
                now,
                self.config.rejected_ttl_s,
            )
            self._store.upsert(OUTBOX_CONTAINER, doc)
        seq, index = pending.positions[start + count - 1]
        after = (seq + 1, 0) if index + 1 == pending.chunk_sizes[seq] else (seq, index + 1)
        pushed = 0 if rejected_reason is not None else count
        moved = dataclasses.replace(
            cursor,
            seq=after[0],
            offset=after[1],
            pushed_rows=cursor.pushed_rows + pushed,
            rejected_rows=cursor.rejected_rows + (count - pushed),
            requests=cursor.requests + (1 if pushed else 0),
            last_pushed_at=now if pushed else cursor.last_pushed_at,
            etag=None,
        )
        op = WriteOp.create(moved.doc(table)) if cursor.etag is None else WriteOp.replace(moved.doc(table), cursor.etag)
        result = self._store.write_many(OUTBOX_CONTAINER, [op])[0]
        if not result.ok or result.doc is None:
            raise OutboxConflict(f"the cursor of {table!r} moved under us: a second drain is running")
        self._cursors[table] = Cursor.of(result.doc)
        for done in [s for s in pending.chunk_sizes if cursor.seq <= s < after[0]]:  # consumed by this ack
            self._delete(chunk_pk(table), f"chunk|{table}|{done:012d}")

    def pushed_rows(self, table: str) -> int:
        """Rows of `table` accepted so far (from the cursor this outbox last read or wrote)."""
        cursor = self._cursors.get(table) or self._cursor(table)
        return cursor.pushed_rows

    # -- reporting ----------------------------------------------------------------------

    def stats(self, table: str) -> TableStats:
        """Rows enqueued, pushed, rejected and pending, and when the oldest pending row was enqueued."""
        self._spec(table)
        seq = self._seq(table)
        cursor = Cursor.of(self._store.read(OUTBOX_CONTAINER, cursor_id(table), cursor_id(table)))
        first = self._store.query(
            OUTBOX_CONTAINER,
            pk=chunk_pk(table),
            where_range={"seq": (cursor.seq, seq.committed + 1)},
            order_by="seq",
            limit=1,
        )
        settled = cursor.pushed_rows + cursor.rejected_rows
        if table in self.config.latest_wins_tables:
            pending = self._pending_in_chunks(table, cursor, seq.committed)
        else:
            pending = seq.enqueued_rows - settled
        return TableStats(
            table=table,
            enqueued_rows=seq.enqueued_rows,
            pushed_rows=cursor.pushed_rows,
            rejected_rows=cursor.rejected_rows,
            pending_rows=pending,
            oldest_pending_at=first[0]["enqueued_at"] if first else None,
            last_pushed_at=cursor.last_pushed_at,
            requests=cursor.requests,
            superseded_rows=max(0, seq.enqueued_rows - settled - pending),
        )


def _rank(doc: Mapping[str, Any]) -> tuple[bool, int]:
    """Of two versions of a minute, a bucket wins over a document (its hour kept buckets since), then the newer."""
    return doc.get("basis") == "bucket", int(doc["v"])


def _enqueued_to(cursor: Mapping[str, Any] | None) -> int:
    return 0 if cursor is None else int(cursor["v"])


def _member(row: Row) -> tuple[str, str]:
    """Which member a snapshot row describes; a table without scope/key columns has one member."""
    return str(row.get("scope", "")), str(row.get("key", ""))
