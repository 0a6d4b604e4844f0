"""The change-feed poller on the real embedded store: each version once, lease token after success."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from runtime_fakes import NOW, FakeTime, RecordingRollup

from shared.handlers.ports import ChangeHandler
from shared.runtime.crash_injection import CrashingStore
from shared.runtime.feed_poller import ChangeFeedPoller, lease_id
from shared.runtime.retry import RetryPolicy
from shared.stores.embedded import SqliteDocumentStore
from shared.stores.port import DocumentStore, TransientStoreError
from shared.topology import LEASES_CONTAINER


def poller(store: DocumentStore, handler: ChangeHandler, time: FakeTime, container: str = "views") -> ChangeFeedPoller:
    return ChangeFeedPoller(
        store, handler, container, page_size=2, retry=RetryPolicy(0.5, 1.0), clock=lambda: NOW, sleep=time.sleep
    )


def drain(feed: ChangeFeedPoller) -> int:
    pages = 0
    while feed.step().worked:
        pages += 1
    return pages


def write(store: DocumentStore, *ids: str, n: int = 0) -> set[tuple[str, str, str]]:
    return {("views", i, store.upsert("views", {"id": i, "pk": "p", "n": n})["_etag"]) for i in ids}


def stored_token(store: DocumentStore) -> object:
    lease = store.read(LEASES_CONTAINER, lease_id("views"), lease_id("views"))
    return None if lease is None else lease["continuation"]


def test_each_version_is_handled_once_across_polls(tmp_path: Path) -> None:
    store, handler, time = SqliteDocumentStore(tmp_path / "pulse.db"), RecordingRollup(), FakeTime()
    feed = poller(store, handler, time)
    versions = write(store, "a", "b", "c", "d", "e")
    assert drain(feed) == 3  # pages of 2, 2, 1
    versions |= write(store, "b", "e", n=1) | write(store, "f")
    store.upsert("orders", {"id": "o1", "pk": "p"})  # another container's feed is not this poller's
    assert drain(feed) == 2
    assert sorted(handler.seen) == sorted(versions) and len(handler.seen) == 8
    assert feed.step().worked is False
    assert stored_token(store) == feed.continuation is not None


def test_a_restarted_poller_resumes_from_the_persisted_token(tmp_path: Path) -> None:
    store, time = SqliteDocumentStore(tmp_path / "pulse.db"), FakeTime()
    write(store, "a", "b", "c")
    drain(poller(store, RecordingRollup(), time))
    store.close()
    store = SqliteDocumentStore(tmp_path / "pulse.db")
    newer = write(store, "b", "x", n=2)
    handler = RecordingRollup()
    drain(poller(store, handler, time))
    assert set(handler.seen) == newer and len(handler.seen) == 2


def test_the_token_moves_only_after_the_handler_succeeded(tmp_path: Path) -> None:
    store, time = SqliteDocumentStore(tmp_path / "pulse.db"), FakeTime()
    versions = write(store, "a", "b", "c")
    throttled = {2: TransientStoreError("429"), 3: TransientStoreError("429")}
    handler = RecordingRollup(fail_on=throttled, observe=lambda: stored_token(store))
    feed = poller(store, handler, time)
    assert feed.step().worked
    first_page_token = stored_token(store)
    assert feed.step().worked  # second page: two transient failures, then success
    assert handler.observed[1:4] == [first_page_token] * 3
    assert time.sleeps == [0.5, 1.0] and feed.tally.snapshot().retries == 2
    assert set(handler.seen) == versions


def test_a_failed_page_is_redelivered_to_the_next_poller(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store, time = SqliteDocumentStore(tmp_path / "pulse.db"), FakeTime()
    versions = write(store, "a", "b")
    with pytest.raises(RuntimeError, match="rollup bug"):
        poller(store, RecordingRollup(fail_on={1: RuntimeError("rollup bug")}), time).step()
    assert "rollup handler failed on 2 changes of views" in caplog.text
    assert stored_token(store) is None
    handler = RecordingRollup()
    drain(poller(store, handler, time))
    assert set(handler.seen) == versions


def test_the_leases_container_cannot_drive_rollups(tmp_path: Path) -> None:
    store = SqliteDocumentStore(tmp_path / "pulse.db")
    with pytest.raises(ValueError, match="leases container"):
        poller(store, RecordingRollup(), FakeTime(), container=LEASES_CONTAINER)


def test_a_simulated_crash_before_the_lease_save_is_recovered_not_raised(tmp_path: Path) -> None:
    """Issue 16.7: the fault injector may crash any write, the lease's too; the poller recovers."""
    store, time = SqliteDocumentStore(tmp_path / "pulse.db"), FakeTime()
    versions = write(store, "a", "b", "c", "d", "e")
    crashing = CrashingStore(store, 0.6, random.Random(3))  # the rollup handler here writes nothing: only leases
    handler = RecordingRollup()
    feed = poller(crashing, handler, time)
    for _ in range(200):  # crashes leave the token where it was; the pages come again
        if not feed.step().worked:
            break
    assert crashing.crashes > 0 and feed.tally.counts["crashes"] == crashing.crashes
    assert set(handler.seen) == versions and stored_token(store) == feed.continuation is not None
