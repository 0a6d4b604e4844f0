"""The partition consumer: batching, checkpoint after success, retries, injected redeliveries and crashes."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from runtime_fakes import NOW, FakeTime, RecordingIngest

from shared.handlers.ports import BatchHandler
from shared.runtime.checkpoints import CheckpointStore
from shared.runtime.consumer import ConsumerSettings, PartitionConsumer
from shared.runtime.faults import DeliveryFaults, SimulatedCrash
from shared.runtime.local_log import LocalLog
from shared.runtime.retry import RetryPolicy
from shared.stores.port import TransientStoreError


class Rig:
    """A one-partition log with `count` messages, its checkpoints and a fake clock."""

    def __init__(self, tmp_path: Path, count: int) -> None:
        self.log = LocalLog(tmp_path / "pulse.db", partitions=1)
        self.checkpoints = CheckpointStore(tmp_path / "pulse.db")
        self.time = FakeTime()
        self.log.append_many("txn", [("store-1", b"%d" % i, datetime(2026, 5, 4, tzinfo=UTC)) for i in range(count)])

    def consumer(self, handler: BatchHandler, seed: int = 7, **settings: object) -> PartitionConsumer:
        return PartitionConsumer(
            self.log,
            self.checkpoints,
            handler,
            "txn",
            0,
            consumer_group="g",
            settings=ConsumerSettings(**settings),  # type: ignore[arg-type]
            clock=lambda: NOW,
            monotonic=self.time.monotonic,
            sleep=self.time.sleep,
            rng=random.Random(seed),
        )

    def checkpoint(self) -> int | None:
        return self.checkpoints.get("txn", "g", 0)


def drain(consumer: PartitionConsumer, max_steps: int = 10_000) -> None:
    for _ in range(max_steps):
        if not consumer.step().worked and not consumer.step().worked:
            return
    raise AssertionError("the consumer never went idle")


def test_delivers_everything_in_order_in_full_batches_and_checkpoints_after_each(tmp_path: Path) -> None:
    rig = Rig(tmp_path, 250)
    handler = RecordingIngest(observe=lambda raws: rig.checkpoint())
    drain(rig.consumer(handler, max_batch_size=100, max_wait_s=0))
    assert [len(call.seqs) for call in handler.calls] == [100, 100, 50]
    assert handler.delivered() == list(range(250))
    assert [call.observed for call in handler.calls] == [None, 99, 199]  # the checkpoint trails each batch
    assert rig.checkpoint() == 249
    assert handler.nows == [NOW] * 3


def test_a_partial_batch_waits_for_max_wait(tmp_path: Path) -> None:
    rig = Rig(tmp_path, 30)
    handler = RecordingIngest()
    consumer = rig.consumer(handler, max_batch_size=100, max_wait_s=1.0)
    assert consumer.step() == (False, True)  # pending
    rig.time.now += 0.5
    rig.log.append("txn", "store-1", b"late", NOW)
    assert consumer.step() == (False, True)
    rig.time.now += 0.5
    assert consumer.step().worked
    assert [len(call.seqs) for call in handler.calls] == [31]


def test_a_batch_that_reaches_the_minimum_goes_without_lingering(tmp_path: Path) -> None:
    rig = Rig(tmp_path, 3)
    handler = RecordingIngest()
    consumer = rig.consumer(handler, max_batch_size=100, min_batch_size=5, max_wait_s=10.0)
    assert consumer.step() == (False, True)  # 3 buffered: lingering for more
    rig.log.append_many("txn", [("store-1", b"more", NOW)] * 4)
    assert consumer.step().worked  # 7 >= 5: delivered at once, the linger was not waited out
    assert [len(call.seqs) for call in handler.calls] == [7]
    rig.log.append("txn", "store-1", b"alone", NOW)
    assert consumer.step() == (False, True)
    rig.time.now += 10.0  # the linger is bounded: a lone message goes once max_wait_s has passed
    assert consumer.step().worked
    assert [len(call.seqs) for call in handler.calls] == [7, 1]


def test_transient_errors_retry_the_same_batch_with_capped_backoff(tmp_path: Path) -> None:
    rig = Rig(tmp_path, 30)
    handler = RecordingIngest(
        fail_on={n: TransientStoreError("429") for n in (2, 3, 4, 5)}, observe=lambda raws: rig.checkpoint()
    )
    consumer = rig.consumer(handler, max_batch_size=10, max_wait_s=0, retry=RetryPolicy(0.1, 0.3, 2.0))
    drain(consumer)
    assert [call.seqs[0] for call in handler.calls] == [0, 10, 10, 10, 10, 10, 20]
    assert {call.observed for call in handler.calls[1:6]} == {9}  # no checkpoint while the batch is failing
    assert rig.time.sleeps == [0.1, 0.2, 0.3, 0.3]
    assert consumer.tally.snapshot().retries == 4
    assert rig.checkpoint() == 29


def test_giving_up_after_max_attempts_raises_and_keeps_the_checkpoint(tmp_path: Path) -> None:
    rig = Rig(tmp_path, 30)
    handler = RecordingIngest(fail_on={n: TransientStoreError("503") for n in range(2, 9)})
    consumer = rig.consumer(handler, max_batch_size=10, max_wait_s=0, retry=RetryPolicy(max_attempts=3))
    consumer.step()
    with pytest.raises(TransientStoreError, match="503"):
        consumer.step()
    assert len(handler.calls) == 4 and rig.checkpoint() == 9


def test_a_non_transient_error_stops_the_consumer_loudly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rig = Rig(tmp_path, 30)
    handler = RecordingIngest(fail_on={2: KeyError("bug")})
    consumer = rig.consumer(handler, max_batch_size=10, max_wait_s=0)
    consumer.step()
    with caplog.at_level(logging.ERROR), pytest.raises(KeyError, match="bug"):
        consumer.step()
    assert "txn/0 batch 10..19 (10 messages)" in caplog.text and "stopping this consumer" in caplog.text
    assert len(handler.calls) == 2 and rig.checkpoint() == 9


def test_redelivery_repeats_a_handled_batch_before_the_checkpoint(tmp_path: Path) -> None:
    rig = Rig(tmp_path, 500)
    handler = RecordingIngest(observe=lambda raws: rig.checkpoint())
    consumer = rig.consumer(handler, max_batch_size=20, max_wait_s=0, faults=DeliveryFaults(redeliver_rate=0.4))
    drain(consumer)
    stats = consumer.tally.snapshot()
    assert set(handler.delivered()) == set(range(500))
    assert stats.redeliveries > 3 and stats.events == 500 + 20 * stats.redeliveries
    repeats = [i for i in range(1, len(handler.calls)) if handler.calls[i].seqs == handler.calls[i - 1].seqs]
    assert len(repeats) == stats.redeliveries
    assert all(handler.calls[i].observed == handler.calls[i - 1].observed for i in repeats)  # not checkpointed between
    assert rig.checkpoint() == 499


def test_crashes_resume_from_the_checkpoint_with_new_batch_boundaries(tmp_path: Path) -> None:
    rig = Rig(tmp_path, 600)
    handler = RecordingIngest(observe=lambda raws: rig.checkpoint())
    faults = DeliveryFaults(crash_rate=0.25)
    consumer = rig.consumer(handler, max_batch_size=25, max_wait_s=0, checkpoint_every=3, faults=faults)
    drain(consumer)
    crashes = consumer.tally.snapshot().crashes
    assert crashes > 3
    assert set(handler.delivered()) == set(range(600))
    rewinds = 0
    for previous, call in zip(handler.calls, handler.calls[1:], strict=False):
        checkpoint = -1 if call.observed is None else call.observed
        assert isinstance(checkpoint, int)
        if call.seqs[0] != previous.seqs[-1] + 1:  # not a continuation: must restart right after the checkpoint
            assert call.seqs[0] == checkpoint + 1 <= previous.seqs[-1]
            rewinds += 1
    assert rewinds == crashes
    assert any(len(call.seqs) < 25 for call in handler.calls[:-1])  # boundaries moved after a crash
    assert rig.checkpoint() == 599


def test_a_crash_inside_the_handler_replays_from_the_checkpoint(tmp_path: Path) -> None:
    rig = Rig(tmp_path, 40)
    handler = RecordingIngest(fail_on={4: SimulatedCrash("after 2 of 5 writes")})
    consumer = rig.consumer(handler, max_batch_size=10, max_wait_s=0, checkpoint_every=2)
    drain(consumer)
    starts = [call.seqs[0] for call in handler.calls]
    assert starts[:5] == [0, 10, 20, 30, 20]  # batch 30..39 crashed; 20..29 was handled but not checkpointed
    assert consumer.tally.snapshot().crashes == 1
    assert set(handler.delivered()) == set(range(40)) and rig.checkpoint() == 39


def test_a_restarted_consumer_starts_after_the_checkpoint(tmp_path: Path) -> None:
    rig = Rig(tmp_path, 30)
    rig.checkpoints.save("txn", "g", 0, 16)
    handler = RecordingIngest()
    drain(rig.consumer(handler, max_batch_size=10, max_wait_s=0))
    assert handler.delivered() == list(range(17, 30))
