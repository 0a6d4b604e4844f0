"""The embedded store beyond the shared contract: files, WAL, TTL clock, tokens, threads."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from shared.stores import SqliteDocumentStore, WriteOp
from shared.stores.sqlite_connections import WRITER_CHECKPOINT_FRAMES, ThreadConnections, _Checkpointer


class ManualClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(tmp_path: Path, clock: ManualClock) -> SqliteDocumentStore:
    with SqliteDocumentStore(tmp_path / "pulse.db", clock=clock) as opened:
        yield opened  # type: ignore[misc]


def test_change_feed_resumes_from_a_token_after_the_file_is_reopened(tmp_path: Path) -> None:
    path = tmp_path / "pulse.db"
    with SqliteDocumentStore(path) as first:
        first.write_many("views", [WriteOp.create({"id": f"d{i}", "pk": "s1", "n": i}) for i in range(5)])
        page = first.change_feed("views", None, max_items=3)
        token = page.continuation
    assert [d["id"] for d in page.docs] == ["d0", "d1", "d2"]
    assert token is not None

    with SqliteDocumentStore(path) as second:
        second.upsert("views", {"id": "d0", "pk": "s1", "n": 100})
        rest = second.change_feed("views", token)
        assert [(d["id"], d["n"]) for d in rest.docs] == [("d3", 3), ("d4", 4), ("d0", 100)]
        assert [d["_lsn"] for d in rest.docs] == sorted(d["_lsn"] for d in rest.docs)
        assert second.change_feed("views", rest.continuation).docs == []


def test_lsns_are_never_reused_after_deletes(store: SqliteDocumentStore) -> None:
    store.create("views", {"id": "a", "pk": "s1"})
    token = store.change_feed("views", None).continuation
    store.delete("views", "s1", "a")
    recreated = store.create("views", {"id": "a", "pk": "s1"})
    page = store.change_feed("views", token)
    assert [d["id"] for d in page.docs] == ["a"]
    assert page.docs[0]["_etag"] == recreated["_etag"]


def test_the_file_uses_wal_journaling(store: SqliteDocumentStore) -> None:
    store.create("views", {"id": "a", "pk": "s1"})
    probe = sqlite3.connect(store.path)
    try:
        assert probe.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        probe.close()
    assert Path(f"{store.path}-wal").exists()


def test_ttl_expiry_follows_the_injected_clock_and_purge_removes_rows(
    store: SqliteDocumentStore, clock: ManualClock
) -> None:
    store.create("audit", {"id": "short", "pk": "b", "ttl": 60})
    store.create("audit", {"id": "container-default", "pk": "b"})  # 90 days
    store.create("audit", {"id": "forever", "pk": "b", "ttl": -1})
    clock.now += 59.9
    assert store.read("audit", "b", "short") is not None
    clock.now += 0.1  # exactly ttl seconds after the write
    assert store.read("audit", "b", "short") is None
    assert set(store.read_many("audit", [("b", "short"), ("b", "forever")])) == {"forever"}
    assert [d["id"] for d in store.change_feed("audit", None).docs] == ["container-default", "forever"]

    clock.now += 90 * 86_400
    assert [d["id"] for d in store.query("audit", pk="b")] == ["forever"]
    assert store.purge_expired() == 2
    raw = sqlite3.connect(store.path)
    try:
        assert raw.execute("SELECT id FROM docs WHERE container = 'audit'").fetchall() == [("forever",)]
    finally:
        raw.close()


def test_a_container_without_default_ttl_ignores_a_document_ttl(store: SqliteDocumentStore, clock: ManualClock) -> None:
    store.create("views", {"id": "a", "pk": "s1", "ttl": 1})  # Cosmos: item ttl needs a container TTL
    clock.now += 10_000
    assert store.read("views", "s1", "a") is not None


@pytest.mark.parametrize("ttl", [0, -2, 1.5, "60", True])
def test_an_invalid_ttl_is_refused(store: SqliteDocumentStore, ttl: object) -> None:
    with pytest.raises(ValueError, match="ttl must be"):
        store.create("audit", {"id": "a", "pk": "b", "ttl": ttl})


def test_continuation_tokens_are_checked_against_file_and_container(tmp_path: Path) -> None:
    with SqliteDocumentStore(tmp_path / "one.db") as one, SqliteDocumentStore(tmp_path / "two.db") as two:
        one.create("views", {"id": "a", "pk": "s1"})
        token = one.change_feed("views", None).continuation
        assert token is not None
        with pytest.raises(ValueError, match=r"from store .* this file is store"):
            two.change_feed("views", token)
        with pytest.raises(ValueError, match="for container 'views', not 'rollups'"):
            one.change_feed("rollups", token)
        with pytest.raises(ValueError, match="not a continuation token"):
            one.change_feed("views", "garbage")


def test_write_many_rolls_back_entirely_on_an_unexpected_error(store: SqliteDocumentStore) -> None:
    ops = [WriteOp.create({"id": "a", "pk": "s1"}), WriteOp.create({"id": "b", "pk": "s1", "bad": {1, 2}})]
    with pytest.raises(TypeError):
        store.write_many("views", ops)
    assert store.read("views", "s1", "a") is None
    store.create("views", {"id": "c", "pk": "s1"})
    assert [d["_lsn"] for d in store.change_feed("views", None).docs] == [1]


def test_read_many_spans_statement_chunks(store: SqliteDocumentStore) -> None:
    store.write_many("views", [WriteOp.upsert({"id": f"d{i}", "pk": f"s{i % 2}"}) for i in range(1_200)])
    keys = [(f"s{i % 2}", f"d{i}") for i in range(1_300)]
    assert len(store.read_many("views", keys)) == 1_200
    with pytest.raises(ValueError, match="unique ids"):
        store.read_many("views", [("s0", "d0"), ("s1", "d0")])


def test_a_writer_and_feed_readers_in_threads_see_every_change_in_order(tmp_path: Path) -> None:
    store = SqliteDocumentStore(tmp_path / "threads.db")
    batches, per_batch = 20, 50
    done = threading.Event()
    errors: list[BaseException] = []
    seen: list[list[int]] = [[], []]

    def write() -> None:
        try:
            for b in range(batches):
                ops = [WriteOp.upsert({"id": f"d{b}-{i}", "pk": f"s{i % 5}"}) for i in range(per_batch)]
                store.write_many("views", ops)
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    def follow(into: list[int]) -> None:
        try:
            token = None
            while True:
                finished = done.is_set()
                page = store.change_feed("views", token, max_items=70)
                into.extend(d["_lsn"] for d in page.docs)
                token = page.continuation
                if finished and not page.docs:
                    return
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write)] + [threading.Thread(target=follow, args=(s,)) for s in seen]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    store.close()
    assert errors == []
    for lsns in seen:
        assert lsns == list(range(1, batches * per_batch + 1))


def test_memory_paths_and_closed_stores_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs a file path"):
        SqliteDocumentStore(":memory:")
    store = SqliteDocumentStore(tmp_path / "closed.db")
    store.close()
    with pytest.raises(RuntimeError, match="the store is closed"):
        store.read("views", "s1", "a")


def test_a_background_thread_checkpoints_and_commits_only_finish_a_long_wal(tmp_path: Path) -> None:
    path = tmp_path / "pulse.db"
    wal = path.with_name(path.name + "-wal")
    with SqliteDocumentStore(path) as store:
        writer = store._db.get()  # the connection of this thread, the one that commits
        assert writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WRITER_CHECKPOINT_FRAMES  # not 1,000
        checkpointer = store._db._checkpointer
        body, written = "x" * 3_000, 0
        for batch in range(6):
            done = checkpointer.checkpoints
            ops = [WriteOp.upsert({"id": f"d{batch}-{i}", "pk": "s", "b": body}) for i in range(300)]
            store.write_many("views", ops)
            written += 300 * 3_000
            deadline = time.monotonic() + 10
            while checkpointer.checkpoints == done and time.monotonic() < deadline:
                time.sleep(0.05)
            assert checkpointer.checkpoints > done  # each round of writes is checkpointed by the thread
        # A WAL that nobody checkpoints holds every page written (> 5.4 MB here); checkpointed, the
        # next writer starts it over, so it stays about one round's size.
        assert wal.stat().st_size < written / 2
        assert store.read("views", "s", "d5-299") is not None


def test_closing_wakes_the_checkpoint_thread_from_its_wait_for_writes(tmp_path: Path) -> None:
    # Closing a store used to wait out the thread's idle poll (1 s a store: `pulse ingest` closed three).
    path = tmp_path / "pulse.db"
    ThreadConnections(path, "CREATE TABLE IF NOT EXISTS t (x INTEGER)").close()
    checkpointer = _Checkpointer(path, busy_timeout_s=5.0, every_s=0.0, idle_s=600.0)
    checkpointer.wrote()
    deadline = time.monotonic() + 10
    while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert checkpointer.checkpoints == 1  # done; the thread now waits up to 600 s for the next write
    stopping = threading.Thread(target=checkpointer.stop)
    stopping.start()
    stopping.join(timeout=30)
    assert not stopping.is_alive()


def test_a_store_that_is_only_read_starts_no_checkpoint_thread(tmp_path: Path) -> None:
    path = tmp_path / "pulse.db"
    with SqliteDocumentStore(path) as store:
        store.write_many("views", [WriteOp.create({"id": "d", "pk": "s"})])
    before = {t.name for t in threading.enumerate()}
    with SqliteDocumentStore(path) as reader:
        assert reader.read("views", "s", "d") is not None
        assert not {t.name for t in threading.enumerate()} - before


def test_writers_queue_on_a_lock_file_beside_the_store_not_on_sqlites_polling(tmp_path: Path) -> None:
    db = tmp_path / "pulse.db"
    connections = ThreadConnections(db, "CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    other = os.open(db.with_name("pulse.db-writer"), os.O_RDWR)  # another open file, as another process has
    try:
        with connections.write() as conn:
            conn.execute("INSERT INTO t VALUES (1)")
            with pytest.raises(BlockingIOError):  # held for the whole transaction
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released with the commit; now "the other process" holds it
        written = threading.Event()

        def write() -> None:
            with connections.write() as conn:
                conn.execute("INSERT INTO t VALUES (2)")
            written.set()

        writer = threading.Thread(target=write)
        writer.start()
        assert not written.wait(0.5)  # it waits on the lock file, not on SQLite (whose lock is free)
        fcntl.flock(other, fcntl.LOCK_UN)
        assert written.wait(10)
        writer.join()
        assert connections.get().execute("SELECT count(*) FROM t").fetchone()[0] == 2
    finally:
        os.close(other)
        connections.close()
