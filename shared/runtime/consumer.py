"""One partition's consumer: batches from the local log to the ingest handler, checkpoint after success.

Like the Event Hubs trigger (``maxEventBatchSize``, ``minEventBatchSize``,
``maxWaitTime``): a batch holds up to `max_batch_size` messages of one partition in
sequence order; it is delivered as soon as it holds `min_batch_size`, or once its
first message has waited `max_wait_s` (a bounded linger: in live streaming a
partition's batch would otherwise be the few messages of one poll, and each batch
costs a flow, an audit, a progress and its primary documents' writes). The
checkpoint moves only after the handler returned (every `checkpoint_every` batches,
and whenever the consumer has caught up). A
`TransientStoreError` retries the same batch with backoff; any other exception stops
the consumer loudly. Injected faults (`DeliveryFaults`) and `SimulatedCrash` make
redeliveries happen on purpose.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from shared.handlers.ports import BatchHandler, BatchOutcome
from shared.pipeline.raw import RawEvent
from shared.runtime.checkpoints import CheckpointStore
from shared.runtime.faults import DeliveryFaults, SimulatedCrash
from shared.runtime.local_log import LocalLog
from shared.runtime.retry import DeadlineExceeded, RetryPolicy, StopRequested, retry_transient
from shared.runtime.stats import Tally
from shared.stores.port import TransientStoreError
from shared.topology import Source

__all__ = ["ConsumerSettings", "PartitionConsumer", "Step"]

logger = logging.getLogger(__name__)


class Step(NamedTuple):
    """What one `step()` of a consumer or poller did."""

    worked: bool
    """It handed something to a handler."""
    pending: bool = False
    """It holds messages waiting for `max_wait_s` (so the host is not quiet yet)."""


@dataclass(frozen=True, slots=True)
class ConsumerSettings:
    """Batching, checkpointing, retry and fault settings of every partition consumer."""

    max_batch_size: int = 1000
    min_batch_size: int = 200
    """Deliver without waiting once this many are buffered (Functions' ``minEventBatchSize``)."""
    max_wait_s: float = 0.25
    """The linger: the longest a buffered message waits for its batch to fill (latency added at low rates)."""
    checkpoint_every: int = 1
    """Batches between checkpoints (Functions' ``batchCheckpointFrequency``)."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    faults: DeliveryFaults = field(default_factory=DeliveryFaults)

    def __post_init__(self) -> None:
        if self.max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {self.max_batch_size}")
        if self.min_batch_size < 1:
            raise ValueError(f"min_batch_size must be >= 1, got {self.min_batch_size}")
        if self.max_wait_s < 0:
            raise ValueError(f"max_wait_s must be >= 0, got {self.max_wait_s}")
        if self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {self.checkpoint_every}")


class PartitionConsumer:
    """Consumes one (source, partition) of the log for one consumer group; drive it with `step()`."""

    def __init__(
        self,
        log: LocalLog,
        checkpoints: CheckpointStore,
        handler: BatchHandler,
        source: Source,
        partition: int,
        *,
        consumer_group: str,
        settings: ConsumerSettings,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float],
        sleep: Callable[[float], None],
        rng: random.Random,
    ) -> None:
        """Start right after the partition's checkpoint (from the beginning if there is none)."""
        self.source, self.partition, self.consumer_group = source, partition, consumer_group
        self._log, self._checkpoints, self._handler = log, checkpoints, handler
        self._settings, self._clock, self._monotonic, self._sleep, self._rng = (
            settings,
            clock,
            monotonic,
            sleep,
            rng,
        )
        self.tally = Tally()
        self._checkpointed = checkpoints.get(source, consumer_group, partition)
        self._position = self._checkpointed  # last sequence whose batch the handler accepted
        self._buffer: list[RawEvent] = []
        self._waiting_since = 0.0
        self._batches_since_checkpoint = 0
        self._batch_limit = settings.max_batch_size  # smaller once after a crash: new boundaries

    @property
    def position(self) -> int | None:
        """Last sequence number handled (checkpointed or not); None before the first."""
        return self._position

    @property
    def checkpointed(self) -> int | None:
        """Last checkpointed sequence number; None before the first checkpoint."""
        return self._checkpointed

    def step(self) -> Step:
        """Read what is available and deliver at most one batch."""
        self._fill()
        if not self._buffer:
            if self._position != self._checkpointed:  # caught up: make the progress durable
                self._checkpoint()
            return Step(worked=False)
        full = len(self._buffer) >= min(self._batch_limit, self._settings.min_batch_size)
        if not full and self._monotonic() - self._waiting_since < self._settings.max_wait_s:
            return Step(worked=False, pending=True)
        batch, self._buffer = self._buffer, []
        self._batch_limit = self._settings.max_batch_size
        self._deliver(batch)
        return Step(worked=True)

    def _fill(self) -> None:
        room = self._batch_limit - len(self._buffer)
        if room <= 0:
            return
        after = self._buffer[-1].sequence_number if self._buffer else self._position
        more = self._log.read(self.source, self.partition, after, room)
        if more and not self._buffer:
            self._waiting_since = self._monotonic()
        self._buffer.extend(more)

    def _deliver(self, batch: list[RawEvent]) -> None:
        faults = self._settings.faults
        try:
            self._handle(batch)
            if faults.redeliver_rate and self._rng.random() < faults.redeliver_rate:
                self.tally.bump("redeliveries")
                self._handle(batch)
            if faults.crash_rate and self._rng.random() < faults.crash_rate:
                raise SimulatedCrash(f"injected crash after {self._describe(batch)}")
        except SimulatedCrash:
            self._crash()
            return
        self._position = batch[-1].sequence_number
        self._batches_since_checkpoint += 1
        if self._batches_since_checkpoint >= self._settings.checkpoint_every:
            self._checkpoint()

    def _handle(self, batch: Sequence[RawEvent]) -> BatchOutcome:
        def call() -> BatchOutcome:
            return self._handler(self.source, batch, self._clock())

        def on_retry(attempt: int, error: TransientStoreError) -> None:
            self.tally.bump("retries")
            logger.warning("transient store error on %s (retry %d): %s", self._describe(batch), attempt, error)

        try:
            outcome = retry_transient(call, self._settings.retry, self._sleep, on_retry)
        except (SimulatedCrash, StopRequested, DeadlineExceeded):
            raise
        except Exception:
            logger.exception("ingest handler failed on %s; stopping this consumer", self._describe(batch))
            raise
        self.tally.add_batch(outcome, len(batch))
        return outcome

    def _crash(self) -> None:
        """Forget everything after the checkpoint, as a restarted host would."""
        self.tally.bump("crashes")
        self._position = self._checkpointed
        self._buffer = []
        self._batches_since_checkpoint = 0
        self._batch_limit = self._rng.randint(1, self._settings.max_batch_size)

    def _checkpoint(self) -> None:
        assert self._position is not None  # only called after a handled batch
        previous = -1 if self._checkpointed is None else self._checkpointed
        self._checkpoints.save(self.source, self.consumer_group, self.partition, self._position)
        self.tally.bump("checkpointed", self._position - previous)
        self._checkpointed = self._position
        self._batches_since_checkpoint = 0

    def _describe(self, batch: Sequence[RawEvent]) -> str:
        first, last = batch[0].sequence_number, batch[-1].sequence_number
        return f"{self.source}/{self.partition} batch {first}..{last} ({len(batch)} messages)"
