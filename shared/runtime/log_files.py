"""The embedded store and its local log, a pair of SQLite files: ``<db>`` and ``<db>.eventlog``.

The log has its own file so that a producer's appends never wait on the store's
single writer (ingest, rollups and checkpoints commit there). Splitting them must not
lose what one file gave for free, so:

- **One owner.** The log file records the id of its store (`LocalLog`'s ``owner``)
  and the store records that it has a log (table ``log_link``). The store's progress
  documents and checkpoints name the log's sequence numbers, so a store whose log is
  missing, or a log of another store, is refused: a fresh log would re-use sequence
  numbers that the store takes for already applied, and skip those events.
- **Crash order.** Created log first, then the store's link: a crash in between leaves
  a log owned by this store and no link, which the next open adopts.
- **Migration.** A store of the single-file layout (tables ``log_*`` and
  ``capture_marks`` in the store) is migrated on open: the tables are copied into a
  new file under a temporary name in one transaction (rollback journal, fsync on
  commit), the file is renamed into place, then the old tables are dropped. A crash
  before the rename redoes the copy; after it, the next open only drops the tables.
- **Power loss.** In one WAL file a store commit could not outlive an earlier log
  commit; across two files (both ``synchronous=NORMAL``) a power loss may cut the log's
  last transactions while the store kept their effects. The open checks every
  partition: a log that ends before the store's progress (the last sequence applied)
  is refused (`LogBehindStore`), never re-used for new messages that the store would
  skip as applied. A partition with progress and no message at all is a store rebuilt
  by `pulse replay` from the capture, whose positions it keeps: allowed, and the log
  then numbers that partition's new messages after the store's progress
  (`LocalLog.start_after`), never from 0 again.
  (``synchronous=FULL`` on the log would prevent the loss at one fsync per append
  transaction; the demo's producer, one transaction per run of a source, then could
  not keep up with its fast-forward.)
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from shared.engine.progress import read_progress
from shared.runtime.local_log import LocalLog, LogOwnerMismatch
from shared.stores.embedded import SqliteDocumentStore
from shared.topology import SOURCES

__all__ = ["LOG_SUFFIX", "LogBehindStore", "LogFileMissing", "log_path", "open_store_log"]

LOG_SUFFIX = ".eventlog"
_MOVED = ("log_meta", "log_events", "log_inputs", "capture_marks")
"""The tables of the single-file layout that belong to the log; ``log_checkpoints`` stays with the store."""


class LogFileMissing(ValueError):
    """The store has a log, but its file is not there."""


class LogBehindStore(ValueError):
    """The log ends before what the store applied from it (its last transactions were lost)."""


def log_path(db: Path) -> Path:
    """The log file of the store `db`: ``<db>.eventlog`` beside it (copy and remove them together)."""
    return db.with_name(db.name + LOG_SUFFIX)


def open_store_log(store: SqliteDocumentStore, partitions: int) -> tuple[LocalLog, int]:
    """Open the log of `store`, creating or migrating it; (log, messages migrated).

    `LogFileMissing`, `LogOwnerMismatch`, `PartitionsMismatch` or `LogBehindStore` (ValueErrors)
    when the pair is broken.
    """
    db, store_id = store.path, store.store_id
    path = log_path(db)
    moved = _migrate(db, path, store_id)
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("CREATE TABLE IF NOT EXISTS log_link (log_file TEXT NOT NULL)")
        linked = conn.execute("SELECT log_file FROM log_link").fetchone() is not None
        if linked and not path.exists():
            raise LogFileMissing(
                f"{db}: its event log {path.name} is missing; the store's progress refers to it."
                f" Put it back beside {db.name}, or remove {db.name} too to start afresh"
            )
        log = LocalLog(path, partitions, owner=store_id)
        if not linked:
            conn.execute("INSERT INTO log_link (log_file) VALUES (?)", (path.name,))
    try:
        _align_with_progress(store, log)
    except BaseException:
        log.close()
        raise
    return log, moved


def _align_with_progress(store: SqliteDocumentStore, log: LocalLog) -> None:
    for source in SOURCES:
        for partition in range(log.partitions):
            progress = read_progress(store, source, str(partition))
            if progress is None:
                continue
            head = log.last_sequence(source, partition)
            # An empty partition with progress is a store rebuilt from the capture (`pulse replay`), not a loss:
            # its new messages continue after the positions the store applied.
            if head is None:
                log.start_after(source, partition, int(progress["last_seq"]))
            elif head < int(progress["last_seq"]):
                raise LogBehindStore(
                    f"{log.path}: {source} partition {partition} ends at sequence {head}, but {store.path} applied"
                    f" up to {progress['last_seq']}: the log lost its last messages (a power loss?). New messages"
                    " would re-use those numbers and be skipped; start a new store (the capture has what was sent)"
                )


def _migrate(db: Path, path: Path, store_id: str) -> int:
    """Move the log tables of a single-file store into `path`; how many messages moved (0: nothing to do)."""
    if not db.exists():
        return 0
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as store:
        store.execute("PRAGMA busy_timeout = 30000")
        tables = dict(store.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall())
        old = [name for name in _MOVED if name in tables]
        if "log_events" not in old:
            return 0
        moved = int(store.execute("SELECT count(*) FROM log_events").fetchone()[0])
        if not path.exists():
            _copy(db, path, [(name, tables[name]) for name in old], store_id)
        elif _owner(path) != store_id:  # not the copy a crash left behind: keep the old tables
            raise LogOwnerMismatch(f"{path} is the log of another store, and {db} still holds its own log")
        store.execute("BEGIN IMMEDIATE")
        for name in old:
            store.execute(f"DROP TABLE {name}")
        store.execute("COMMIT")
    return moved


def _owner(path: Path) -> str | None:
    with contextlib.closing(sqlite3.connect(path)) as log:
        row = log.execute("SELECT value FROM log_meta WHERE key = 'owner'").fetchone()
    return None if row is None else str(row[0])


def _copy(db: Path, path: Path, tables: list[tuple[str, str]], store_id: str) -> None:
    temporary = path.with_name(path.name + ".migrating")
    for stale in (temporary, temporary.with_name(temporary.name + "-journal")):
        stale.unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(temporary, isolation_level=None)) as new:
        new.execute("PRAGMA journal_mode = DELETE")
        new.execute("PRAGMA synchronous = FULL")
        new.execute("ATTACH DATABASE ? AS old", (str(db),))
        new.execute("BEGIN IMMEDIATE")
        for name, sql in tables:
            new.execute(sql)  # sqlite_master keeps "CREATE TABLE <name> ...": created in the new file (main)
            new.execute(f"INSERT INTO main.{name} SELECT * FROM old.{name}")
        new.execute(
            "INSERT INTO main.log_meta (key, value) VALUES ('owner', ?) ON CONFLICT (key) DO NOTHING", (store_id,)
        )
        new.execute("COMMIT")
        new.execute("DETACH DATABASE old")
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
