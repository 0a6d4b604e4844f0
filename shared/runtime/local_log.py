"""The Event Hubs stand-in: a durable, partitioned, append-only log in SQLite.

Each source is a hub with `partitions` partitions. A message goes to the partition
``crc32(partition_key) % partitions``, so one store's events stay in one partition,
in order. Sequence numbers count from 0 per (source, partition) without gaps (or from
the partition's floor, see `start_after`); the offset is the message's byte position in
its partition, as in Event Hubs. The
partition count is written into the file: reopening with another count would move
keys between partitions, so it is refused. So is the `owner` (the id of the store
whose progress documents refer to these sequence numbers): a log never feeds a store
it was not made for (`shared/runtime/log_files.py` keeps the pair together).

The log has its own SQLite file (``<db>.eventlog`` beside the store), so producers
append while the store's writer commits.

An input file's progress (`InputMark`: lines and bytes appended, SHA-256 of those
bytes) is written in the same transaction as the messages it appended, so after a
crash a re-run knows exactly where the file's appended part ends.
"""

from __future__ import annotations

import os
import sqlite3
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple, TypeAlias

from shared.pipeline.raw import RawEvent
from shared.stores.sqlite_connections import ThreadConnections

__all__ = ["InputMark", "LocalLog", "LogAppend", "LogOwnerMismatch", "PartitionsMismatch"]

LogAppend: TypeAlias = tuple[str, bytes, datetime]
"""One message for `LocalLog.append_many`: (partition key, body, enqueued time, tz-aware)."""


class InputMark(NamedTuple):
    """How much of an input file is in the log: its first `lines` lines, `size` bytes with this SHA-256."""

    input: str
    lines: int
    size: int
    sha256: str


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

_DDL = """
CREATE TABLE IF NOT EXISTS log_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log_events (
    source      TEXT    NOT NULL,
    partition   INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    byte_offset INTEGER NOT NULL,
    enqueued_us INTEGER NOT NULL,  -- microseconds since the epoch, UTC
    body        BLOB    NOT NULL,
    PRIMARY KEY (source, partition, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_inputs (
    source TEXT    NOT NULL,
    input  TEXT    NOT NULL,  -- the file's resolved path
    lines  INTEGER NOT NULL,
    size   INTEGER NOT NULL,  -- bytes of those lines, newlines included
    sha256 TEXT    NOT NULL,  -- of those bytes
    PRIMARY KEY (source, input)
) WITHOUT ROWID;
"""
_MARK = (
    "INSERT INTO log_inputs (source, input, lines, size, sha256) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (source, input) DO UPDATE SET lines = excluded.lines, size = excluded.size, sha256 = excluded.sha256"
)
_INSERT = "INSERT INTO log_events (source, partition, seq, byte_offset, enqueued_us, body) VALUES (?, ?, ?, ?, ?, ?)"
_HEAD = (
    "SELECT seq, byte_offset, length(body) FROM log_events WHERE source = ? AND partition = ? ORDER BY seq DESC LIMIT 1"
)


class PartitionsMismatch(ValueError):
    """The file holds a log with another number of partitions: moving keys between partitions is refused."""


class LogOwnerMismatch(ValueError):
    """The file holds the log of another store: its sequence numbers mean nothing to this one."""


class LocalLog:
    """A partitioned log in the SQLite file `path` (tables ``log_*``)."""

    def __init__(self, path: str | os.PathLike[str], partitions: int, *, owner: str | None = None) -> None:
        """Open or create the log; ValueError if the file was created with another partition count or owner.

        `owner` is written into a file that has none; None skips the check.
        """
        if partitions < 1:
            raise ValueError(f"partitions must be >= 1, got {partitions}")
        self._db = ThreadConnections(path, _DDL)
        with self._db.write() as conn:
            for key, value in (("partitions", str(partitions)), ("owner", owner)):
                if value is not None:
                    conn.execute(
                        "INSERT INTO log_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, value)
                    )
            stored = dict(conn.execute("SELECT key, value FROM log_meta").fetchall())
        if int(stored["partitions"]) != partitions:
            self._db.close()
            raise PartitionsMismatch(
                f"{path} holds a log with {stored['partitions']} partitions, not {partitions} (--partitions)"
            )
        if owner is not None and stored["owner"] != owner:
            self._db.close()
            raise LogOwnerMismatch(f"{path} is the log of another store (remove it with the store it belongs to)")
        self.path = Path(path)
        self._partitions = partitions
        self._partition_cache: dict[str, int] = {}

    @property
    def partitions(self) -> int:
        """Partitions per source."""
        return self._partitions

    def partition_of(self, partition_key: str) -> int:
        """The partition of `partition_key`: stable across processes and runs (crc32, not `hash`)."""
        partition = self._partition_cache.get(partition_key)
        if partition is None:
            partition = zlib.crc32(partition_key.encode()) % self._partitions
            if len(self._partition_cache) < 100_000:  # keys are store ids: few; bound it anyway
                self._partition_cache[partition_key] = partition
        return partition

    def append(self, source: str, partition_key: str, body: bytes, enqueued_time: datetime) -> tuple[int, int]:
        """Append one message; returns its (partition, sequence number)."""
        return self.append_many(source, [(partition_key, body, enqueued_time)])[0]

    def append_many(
        self, source: str, messages: Iterable[LogAppend], mark: InputMark | None = None
    ) -> list[tuple[int, int]]:
        """Append messages of one source in one transaction; their (partition, sequence) in input order.

        With `mark`, the input file's progress is recorded in the same transaction.
        """
        rows: list[tuple[str, int, int, int, int, bytes]] = []
        positions: list[tuple[int, int]] = []
        heads: dict[int, tuple[int, int]] = {}
        last_time: datetime | None = None
        last_us = 0
        partition_of, cache = self.partition_of, self._partition_cache
        with self._db.write() as conn:
            for key, body, enqueued_time in messages:
                partition = cache.get(key)
                if partition is None:
                    partition = partition_of(key)
                head = heads.get(partition)
                if head is None:
                    head = _next_position(conn.execute(_HEAD, (source, partition)).fetchone())
                    if head == (0, 0):
                        head = (_floor(conn, source, partition), 0)
                seq, offset = head
                if enqueued_time is not last_time:  # producers reuse one timestamp per burst
                    last_us, last_time = _to_micros(enqueued_time), enqueued_time
                rows.append((source, partition, seq, offset, last_us, body))
                positions.append((partition, seq))
                heads[partition] = (seq + 1, offset + len(body))
            conn.executemany(_INSERT, rows)
            if mark is not None:
                conn.execute(_MARK, (source, *mark))
        return positions

    def input_mark(self, source: str, input: str) -> InputMark | None:
        """What earlier runs appended of the input file `input` (a resolved path) to `source`'s hub."""
        row = (
            self._db.get()
            .execute("SELECT lines, size, sha256 FROM log_inputs WHERE source = ? AND input = ?", (source, input))
            .fetchone()
        )
        return None if row is None else InputMark(input, int(row[0]), int(row[1]), str(row[2]))

    def count(self, source: str) -> int:
        """Messages of `source` in the log, all partitions."""
        return int(self._db.get().execute("SELECT count(*) FROM log_events WHERE source = ?", (source,)).fetchone()[0])

    def read(self, source: str, partition: int, after_sequence: int | None, max_count: int) -> list[RawEvent]:
        """Up to `max_count` messages with sequence > `after_sequence` (None: from the start), in order."""
        if max_count < 1:
            raise ValueError(f"max_count must be >= 1, got {max_count}")
        rows = (
            self._db.get()
            .execute(
                "SELECT seq, byte_offset, enqueued_us, body FROM log_events "
                "WHERE source = ? AND partition = ? AND seq > ? ORDER BY seq LIMIT ?",
                (source, partition, -1 if after_sequence is None else after_sequence, max_count),
            )
            .fetchall()
        )
        times: dict[int, datetime] = {}
        name = str(partition)
        events = []
        for seq, offset, enqueued_us, body in rows:
            enqueued = times.get(enqueued_us)
            if enqueued is None:
                enqueued = times[enqueued_us] = _EPOCH + enqueued_us * _MICROSECOND
            events.append(RawEvent(bytes(body), name, seq, str(offset), enqueued))
        return events

    def start_after(self, source: str, partition: int, sequence: int) -> None:
        """Let an empty partition's first message take a number after `sequence` (no effect once it has one).

        A store rebuilt from the capture (`pulse replay --into`) keeps the hub's positions in
        its progress documents; its new log must continue after them, as a hub continues its
        numbering, or the store would take the new messages for applied ones and skip them.
        """
        if sequence < 0:
            return
        key = _floor_key(source, partition)
        with self._db.write() as conn:
            if conn.execute(_HEAD, (source, partition)).fetchone() is not None:
                return
            conn.execute(
                "INSERT INTO log_meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
                (key, str(sequence + 1)),
            )

    def last_sequence(self, source: str, partition: int) -> int | None:
        """Sequence number of the newest message of the partition; None while it is empty."""
        row = self._db.get().execute(_HEAD, (source, partition)).fetchone()
        return None if row is None else int(row[0])

    def sources(self) -> list[str]:
        """Sources with at least one message, sorted."""
        rows = self._db.get().execute("SELECT DISTINCT source FROM log_events ORDER BY source").fetchall()
        return [str(row[0]) for row in rows]

    def close(self) -> None:
        """Close the log's connections (the file stays)."""
        self._db.close()


def _floor_key(source: str, partition: int) -> str:
    return f"floor|{source}|{partition}"


def _floor(conn: sqlite3.Connection, source: str, partition: int) -> int:
    """The first sequence number of an empty partition (0 unless `LocalLog.start_after` raised it)."""
    row = conn.execute("SELECT value FROM log_meta WHERE key = ?", (_floor_key(source, partition),)).fetchone()
    return 0 if row is None else int(row[0])


def _next_position(head: tuple[int, int, int] | None) -> tuple[int, int]:
    """(next sequence, next byte offset) after the partition's newest row."""
    if head is None:
        return 0, 0
    seq, offset, length = head
    return seq + 1, offset + length


def _to_micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"enqueued_time must be timezone-aware, got {moment!r}")
    return (moment - _EPOCH) // _MICROSECOND
