"""Backfill: captured messages through the very ingest handler, with their original partitions and positions.

Replaying what was already applied changes nothing (each partition's progress
document and the event-id digests make ingest exactly-once); replaying into an
empty store rebuilds every view. Each batch is judged as of its messages' first
delivery (the enqueued time of its last message), so a rebuild a month later
accepts what the live run accepted instead of calling it too late.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from shared.handlers.ports import BatchHandler, BatchOutcome
from shared.pipeline.raw import RawEvent
from shared.topology import Source

__all__ = ["ReplayCounts", "ReplayGap", "replay_messages"]


class ReplayGap(ValueError):
    """Applying this batch would move a partition's progress past messages it never applied: they would be lost."""

    def __init__(self, partition: str, applied_through: int, first: int) -> None:
        super().__init__(
            f"partition {partition}: applied through sequence {applied_through}, the replay continues at "
            f"{first}; {first - applied_through - 1} message(s) in between are neither applied nor in this replay "
            "(replay from earlier with --from, or let live ingest catch up; --allow-gaps accepts the loss)"
        )
        self.partition, self.applied_through, self.first = partition, applied_through, first


@dataclass(slots=True)
class ReplayCounts:
    """What a replay did: received = accepted + dead_lettered + duplicates + already_applied."""

    received: int = 0
    accepted: int = 0
    dead_lettered: int = 0
    duplicates: int = 0
    already_applied: int = 0
    batches: int = 0
    dead_letters_by_reason: Counter[str] = field(default_factory=Counter)

    def add(self, outcome: BatchOutcome) -> None:
        self.received += outcome.received
        self.accepted += outcome.accepted
        self.dead_lettered += outcome.dead_lettered
        self.duplicates += outcome.duplicates
        self.already_applied += outcome.replayed
        self.batches += 1
        self.dead_letters_by_reason.update(outcome.dead_letters_by_reason)


def replay_messages(
    source: Source,
    messages: Iterable[RawEvent],
    handler: BatchHandler,
    *,
    batch_size: int = 1000,
    fallback_now: Callable[[], datetime],
    applied_through: Callable[[str], int | None] | None = None,
    on_batch: Callable[[ReplayCounts], None] | None = None,
) -> ReplayCounts:
    """Feed `messages` (partition after partition, each in sequence order) to `handler` in batches.

    Each batch is judged at its last message's enqueued time (`fallback_now()` when a message has none).

    With `applied_through` (a partition's last applied sequence number, None before
    its first batch) a batch that starts after a hole raises `ReplayGap` before it is
    applied: the handler would otherwise mark the hole as done and live ingest would
    skip it. A partition nothing was applied to yet must start at sequence 0 (a
    rebuild of a time range into a fresh store opts out with ``--allow-gaps``).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    counts = ReplayCounts()
    batch: list[RawEvent] = []

    def flush() -> None:
        if applied_through is not None:
            partition, first = str(batch[0].partition), int(batch[0].sequence_number or 0)
            last = applied_through(partition)
            if first > (-1 if last is None else last) + 1:
                raise ReplayGap(partition, -1 if last is None else last, first)
        # Event Hubs enqueues a partition's messages in order: the last one is the newest.
        now = batch[-1].enqueued_time or fallback_now()
        counts.add(handler(source, batch, now))
        batch.clear()
        if on_batch is not None:
            on_batch(counts)

    for raw in messages:
        if batch and (raw.partition != batch[0].partition or len(batch) >= batch_size):
            flush()
        if batch and raw.sequence_number is not None and raw.sequence_number <= batch[-1].sequence_number:  # type: ignore[operator]
            flush()  # a re-captured range (overlapping blobs): the handler skips what it applied
        batch.append(raw)
    if batch:
        flush()
    return counts
