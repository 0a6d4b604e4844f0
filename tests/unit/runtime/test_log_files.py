"""The store and its event log, two files: appends never wait on the store's writer; the pair stays a pair."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.engine.progress import write_progress
from shared.runtime.capture_export import CaptureExporter
from shared.runtime.checkpoints import CheckpointStore
from shared.runtime.local_log import InputMark, LocalLog, LogOwnerMismatch, PartitionsMismatch
from shared.runtime.log_files import LogBehindStore, LogFileMissing, log_path, open_store_log
from shared.sources.capture_blob import open_capture_store
from shared.stores.embedded import SqliteDocumentStore

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
MARK = InputMark("/data/in.jsonl", 3, 42, "ab" * 32)


def _open(db: Path, partitions: int = 4) -> tuple[SqliteDocumentStore, LocalLog, int]:
    store = SqliteDocumentStore(db)
    log, moved = open_store_log(store, partitions)
    return store, log, moved


def _bodies(log: LocalLog) -> list[bytes]:
    return [e.body for p in range(log.partitions) for e in log.read("txn", p, None, 1000)]


def _tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _single_file_store(db: Path, tmp_path: Path) -> str:
    """A store of the old layout: log, input mark, capture marks and checkpoints all in `db`."""
    store = SqliteDocumentStore(db)
    log = LocalLog(db, 4)
    log.append_many("txn", [(f"S{i}", f"body-{i}".encode(), T0) for i in range(30)], MARK)
    exporter = CaptureExporter(log, db, open_capture_store(str(tmp_path / "capture"), create=True))
    assert exporter.export().messages == 30
    exporter.close()
    checkpoints = CheckpointStore(db)
    checkpoints.save("txn", "$Default", 0, 5)
    checkpoints.close()
    log.close()
    store_id = store.store_id
    store.close()
    return store_id


def test_the_log_has_its_own_file_and_appends_while_the_store_writer_holds_its_lock(tmp_path: Path) -> None:
    db = tmp_path / "pulse.db"
    store, log, moved = _open(db)
    assert moved == 0 and log.path == log_path(db) == tmp_path / "pulse.db.eventlog"
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # the store's writer is busy (ingest committing)
    done = threading.Event()

    def append() -> None:
        log.append_many("txn", [("S1", b"x", T0)])
        done.set()

    thread = threading.Thread(target=append)
    thread.start()
    appended_meanwhile = done.wait(5)
    writer.execute("ROLLBACK")
    thread.join()
    writer.close()
    assert appended_meanwhile  # with one file it waited for the store's transaction
    assert "log_events" not in _tables(db)
    log.close()
    store.close()


def test_a_single_file_store_is_migrated_once_with_everything_the_log_held(tmp_path: Path) -> None:
    db = tmp_path / "pulse.db"
    _single_file_store(db, tmp_path)
    store, log, moved = _open(db)
    assert moved == 30
    assert sorted(_bodies(log)) == sorted(f"body-{i}".encode() for i in range(30))
    assert log.input_mark("txn", MARK.input) == MARK  # a re-run of `pulse ingest` resumes where it was
    assert "log_events" not in _tables(db) and "capture_marks" not in _tables(db)
    assert {"log_events", "log_inputs", "log_meta", "capture_marks"} <= _tables(log_path(db))
    assert CheckpointStore(db).get("txn", "$Default", 0) == 5  # checkpoints stay with the store
    exporter = CaptureExporter(log, log.path, open_capture_store(str(tmp_path / "capture")))
    assert exporter.export().messages == 0  # the capture marks moved too: nothing is captured twice
    exporter.close()
    log.append_many("txn", [("S1", b"after", T0)])
    log.close()
    store.close()
    store, log, moved = _open(db)
    assert moved == 0 and len(_bodies(log)) == 31
    log.close()
    store.close()


def test_a_crash_after_the_rename_only_drops_the_old_tables(tmp_path: Path) -> None:
    db, before = tmp_path / "pulse.db", tmp_path / "before.db"
    _single_file_store(db, tmp_path)
    shutil.copy(db, before)
    store, log, _ = _open(db)
    log.close()
    store.close()
    shutil.copy(before, db)  # the store as it was before the drop: its old tables, the new file in place
    for stale in ("-wal", "-shm"):
        db.with_name(db.name + stale).unlink(missing_ok=True)
    store, log, moved = _open(db)
    assert moved == 30 and len(_bodies(log)) == 30  # not copied twice
    assert "log_events" not in _tables(db)
    log.close()
    store.close()


def test_a_store_whose_log_is_missing_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "pulse.db"
    store, log, _ = _open(db)
    log.append_many("txn", [("S1", b"x", T0)])
    log.close()
    store.close()
    log_path(db).unlink()
    store = SqliteDocumentStore(db)
    with pytest.raises(LogFileMissing, match=r"pulse\.db\.eventlog is missing"):
        open_store_log(store, 4)
    store.close()


def test_the_log_of_another_store_is_refused(tmp_path: Path) -> None:
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    for db in (first, second):
        store, log, _ = _open(db)
        log.close()
        store.close()
    shutil.copy(log_path(first), log_path(second))
    store = SqliteDocumentStore(second)
    with pytest.raises(LogOwnerMismatch, match="another store"):
        open_store_log(store, 4)
    with pytest.raises(PartitionsMismatch):
        open_store_log(SqliteDocumentStore(first), 8)
    store.close()


def test_a_log_that_lost_messages_the_store_applied_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "pulse.db"
    store, log, _ = _open(db, partitions=1)
    log.append_many("txn", [("S1", f"m{i}".encode(), T0) for i in range(5)])
    write_progress(store, None, "txn", "0", 4, {"received": 5}, T0)  # the store applied all five
    log.close()
    with sqlite3.connect(log_path(db)) as conn:  # a power loss cut the log's last transaction
        conn.execute("DELETE FROM log_events WHERE seq > 1")
    with pytest.raises(LogBehindStore, match=r"ends at sequence 1, but .* applied up to 4"):
        open_store_log(store, 1)
    store.close()


def test_a_store_rebuilt_from_the_capture_gets_a_log_that_numbers_after_its_progress(tmp_path: Path) -> None:
    db = tmp_path / "rebuilt.db"
    store, log, _ = _open(db, partitions=2)
    on = {log.partition_of(key): key for key in (f"S{i}" for i in range(20))}  # a store id per partition
    write_progress(store, None, "txn", "0", 41, {"received": 42}, T0)  # `pulse replay --into`: positions 0..41
    log.close()
    log, _ = open_store_log(store, 2)
    assert log.append_many("txn", [(on[0], b"new", T0), (on[1], b"other", T0)]) == [(0, 42), (1, 0)]
    log.start_after("txn", 0, 99)  # no effect once the partition has messages: numbers stay without gaps
    assert log.append_many("txn", [(on[0], b"next", T0)]) == [(0, 43)]
    assert [e.sequence_number for e in log.read("txn", 0, None, 10)] == [42, 43]
    log.close()
    store.close()
