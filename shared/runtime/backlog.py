"""How far the embedded pipeline is behind its log, per source: events waiting and the oldest one's enqueued time.

Read from the log's heads and the consumer group's checkpoints, so it stays a
number when the pipeline falls behind (the flow documents' lag histogram only
counts what was processed, and says nothing while nothing is). `pulse demo`'s
status line shows it, in wall seconds, as the delivery -> processing part of freshness.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.runtime.checkpoints import CheckpointStore
from shared.runtime.local_log import LocalLog
from shared.topology import CONSUMER_GROUP, SOURCES

__all__ = ["SourceBacklog", "log_backlog"]


@dataclass(frozen=True, slots=True)
class SourceBacklog:
    """Messages of one source in the log that the consumer group has not checkpointed yet."""

    source: str
    waiting: int
    oldest: datetime | None
    """Enqueued time of the oldest waiting message (None: nothing waits)."""


def log_backlog(log: LocalLog, checkpoints: CheckpointStore, group: str = CONSUMER_GROUP) -> list[SourceBacklog]:
    """Per source, in topology order: what waits, and since when."""
    out = []
    for source in SOURCES:
        waiting, oldest = 0, None
        for partition in range(log.partitions):
            head = log.last_sequence(source, partition)
            if head is None:
                continue
            done = checkpoints.get(source, group, partition)
            if done is not None and done >= head:
                continue
            waiting += head - (-1 if done is None else done)
            (first,) = log.read(source, partition, done, 1)
            if first.enqueued_time is not None and (oldest is None or first.enqueued_time < oldest):
                oldest = first.enqueued_time
        out.append(SourceBacklog(source, waiting, oldest))
    return out
