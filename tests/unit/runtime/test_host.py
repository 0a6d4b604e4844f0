"""The local host: drains log and feeds until quiet, survives faults, stops and restarts cleanly."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from runtime_fakes import NOW, FakeTime, RecordingIngest, RecordingRollup

from shared.pipeline.raw import RawEvent
from shared.runtime import (
    CheckpointStore,
    ConsumerSettings,
    DeadlineExceeded,
    DeliveryFaults,
    HostSettings,
    LocalHost,
    LocalLog,
    RetryPolicy,
    RuntimeStats,
)
from shared.stores.embedded import SqliteDocumentStore
from shared.stores.port import TransientStoreError
from shared.topology import Source

T = datetime(2026, 5, 4, tzinfo=UTC)
TWO_SOURCES = HostSettings(sources=("txn", "traffic"))


class Rig:
    def __init__(self, tmp_path: Path, partitions: int = 3) -> None:
        db = tmp_path / "pulse.db"
        self.log, self.checkpoints, self.store = LocalLog(db, partitions), CheckpointStore(db), SqliteDocumentStore(db)

    def fill(self, source: Source, count: int, start: int = 0) -> None:
        self.log.append_many(source, [(f"store-{i % 7}", b"%d" % i, T) for i in range(start, start + count)])

    def write_view(self, source: Source, raws: Sequence[RawEvent]) -> int:
        """An ingest effect: one view document per (source, partition), rewritten each batch."""
        self.store.upsert("views", {"id": f"{source}-{raws[0].partition}", "pk": source, "last": raws[-1].offset})
        return 1

    def host(
        self,
        ingest: RecordingIngest,
        rollup: RecordingRollup,
        settings: HostSettings = TWO_SOURCES,
        time: FakeTime | None = None,
        on_progress: Callable[[RuntimeStats], None] | None = None,
    ) -> LocalHost:
        """A host on the rig; wall time unless a fake `time` is given."""
        parts = (self.log, self.checkpoints, self.store, ingest, rollup)
        if time is None:
            return LocalHost(*parts, clock=lambda: NOW, settings=settings)
        return LocalHost(
            *parts,
            clock=lambda: NOW,
            settings=settings,
            monotonic=time.monotonic,
            sleep=time.sleep,
            on_progress=on_progress,
        )

    def ends(self) -> dict[tuple[str, int], int]:
        return {
            (source, p): last
            for source in ("txn", "traffic")
            for p in range(self.log.partitions)
            if (last := self.log.last_sequence(source, p)) is not None
        }


def delivered(ingest: RecordingIngest, source: str, partition: int) -> list[int]:
    return [s for call in ingest.calls if (call.source, call.partition) == (source, str(partition)) for s in call.seqs]


@pytest.mark.parametrize("workers", [1, 2])
def test_run_until_quiet_drains_log_and_feeds_despite_faults(tmp_path: Path, workers: int) -> None:
    rig, fake = Rig(tmp_path), FakeTime()
    rig.fill("txn", 300)
    rig.fill("traffic", 120)
    ingest, rollup = RecordingIngest(on_success=rig.write_view), RecordingRollup()
    faults = DeliveryFaults(redeliver_rate=0.2, crash_rate=0.2)
    consumer = ConsumerSettings(max_batch_size=16, max_wait_s=0.05, checkpoint_every=2, faults=faults)
    settings = HostSettings(sources=("txn", "traffic"), consumer=consumer, workers=workers, feed_page_size=3)
    progress: list[RuntimeStats] = []
    host = rig.host(ingest, rollup, settings=settings, time=fake, on_progress=progress.append)
    stats = host.run_until_quiet(timeout_s=60)

    ends = rig.ends()
    assert rig.checkpoints.all("pulse-functions") == ends
    for (source, partition), last in ends.items():
        assert set(delivered(ingest, source, partition)) == set(range(last + 1))
    assert stats.checkpointed == 420 and stats.events == sum(len(c.seqs) for c in ingest.calls) > 420
    assert stats.batches == len(ingest.calls) and stats.redeliveries > 0 and stats.crashes > 0
    assert stats.received == stats.events and stats.documents_written == stats.batches
    latest = {("views", d["id"], d["_etag"]) for d in rig.store.query("views")}
    assert len(latest) == 6 and latest <= set(rollup.seen)  # the feed was drained to the last versions
    assert stats.changes == len(rollup.seen) and progress[-1] == stats

    again = rig.host(RecordingIngest(), RecordingRollup(), settings=settings, time=fake)
    restarted = again.run_until_quiet()
    assert restarted.batches == 0 and restarted.feed_pages == 0  # resumed from checkpoints and leases


def test_a_batch_retried_forever_times_out(tmp_path: Path) -> None:
    rig, fake = Rig(tmp_path), FakeTime()
    rig.fill("txn", 5)
    host = rig.host(
        RecordingIngest(fail_always=TransientStoreError("503")),
        RecordingRollup(),
        time=fake,
    )
    with pytest.raises(DeadlineExceeded, match="not quiet in time"):
        host.run_until_quiet(timeout_s=30)
    assert 30 <= sum(fake.sleeps) <= 33 and rig.checkpoints.all("pulse-functions") == {}


def test_a_handler_bug_reaches_the_caller(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.fill("traffic", 5)
    with pytest.raises(ZeroDivisionError):
        rig.host(RecordingIngest(fail_on={1: ZeroDivisionError()}), RecordingRollup()).run_until_quiet(timeout_s=10)


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


@pytest.mark.parametrize("workers", [1, 2])
def test_start_stop_joins_threads_and_a_restart_continues(tmp_path: Path, workers: int) -> None:
    rig = Rig(tmp_path, partitions=2)
    consumer = ConsumerSettings(max_batch_size=10, max_wait_s=0.005)
    settings = HostSettings(sources=("txn",), consumer=consumer, workers=workers, idle_sleep_s=0.005)
    first = RecordingIngest(on_success=rig.write_view)
    host = rig.host(first, RecordingRollup(), settings=settings)
    host.start()
    for chunk in range(4):  # a producer appending while the host runs
        rig.fill("txn", 25, start=25 * chunk)
    wait_for(lambda: host.stats().checkpointed == 100)
    began = time.monotonic()
    stats = host.stop(timeout_s=60)
    assert time.monotonic() - began < 5.0 and not host.running  # no idle wait or batch timeout is served out
    assert not [t for t in threading.enumerate() if t.name.startswith("pulse-")]
    assert stats.checkpointed == 100
    for (source, partition), last in rig.ends().items():
        assert delivered(first, source, partition) == list(range(last + 1))  # no faults: once each, in order

    before = rig.ends()
    rig.fill("txn", 30, start=100)
    second = RecordingIngest()
    host = rig.host(second, RecordingRollup(), settings=settings)
    host.start()
    wait_for(lambda: host.stats().checkpointed == 30)
    assert host.stop().batches == len(second.calls)
    for (source, partition), last in rig.ends().items():  # only the new messages, from the checkpoints on
        assert delivered(second, source, partition) == list(range(before[source, partition] + 1, last + 1))
    assert rig.checkpoints.all("pulse-functions") == rig.ends()


def test_quiet_only_once_a_round_finds_nothing_to_do(tmp_path: Path) -> None:
    rig = Rig(tmp_path, partitions=2)
    consumer = ConsumerSettings(max_batch_size=10, max_wait_s=0.005)
    settings = HostSettings(sources=("txn",), consumer=consumer, idle_sleep_s=0.005)
    host = rig.host(RecordingIngest(on_success=rig.write_view), RecordingRollup(), settings=settings)
    assert not host.quiet  # not running
    rig.fill("txn", 200)
    host.start()
    wait_for(lambda: host.quiet)
    assert host.stats().checkpointed == 200  # quiet means consumed to the end
    host.stop()
    assert not host.quiet


def test_stop_cuts_a_retry_backoff_short(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.fill("txn", 5)
    consumer = ConsumerSettings(max_wait_s=0, retry=RetryPolicy(initial_delay_s=30, max_delay_s=30))
    host = rig.host(
        RecordingIngest(fail_always=TransientStoreError("429")),
        RecordingRollup(),
        settings=HostSettings(sources=("txn",), consumer=consumer),
    )
    host.start()
    wait_for(lambda: host.stats().retries >= 1)
    began = time.monotonic()
    host.stop(timeout_s=60)
    assert time.monotonic() - began < 5.0  # far less than the 30 s backoff
    assert rig.checkpoints.all("pulse-functions") == {}


def test_serve_stops_cleanly_on_ctrl_c_and_keeps_the_checkpoints(tmp_path: Path) -> None:
    rig = Rig(tmp_path, partitions=2)
    rig.fill("txn", 40)
    settings = HostSettings(sources=("txn",), consumer=ConsumerSettings(max_batch_size=8, max_wait_s=0.005))
    host = rig.host(RecordingIngest(), RecordingRollup(), settings=settings)

    def interrupt_when_done() -> bool:
        if host.stats().checkpointed == 40:
            raise KeyboardInterrupt
        return False

    stats = host.serve(interrupt_when_done, poll_s=0.005)
    assert stats.checkpointed == 40 and not host.running
    assert rig.checkpoints.all("pulse-functions") == rig.ends()
