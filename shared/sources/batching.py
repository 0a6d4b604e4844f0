"""One open `EventDataBatch` per partition key: a full batch is sent and replaced, never split by the SDK.

Events with the same partition key (the store id) must land in the same partition
in order, so each key gets its own batch (`create_batch(partition_key=key)`); the
SDK's batch enforces the size limit of the hub (``add`` raises ``ValueError`` when
an event does not fit). An event too large even for an empty batch is counted and
skipped: Event Hubs would refuse it anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from azure.eventhub import EventData, EventDataBatch

__all__ = ["BatchStats", "PartitionBatcher"]


@dataclass(slots=True)
class BatchStats:
    """What a `PartitionBatcher` has done so far."""

    events_sent: int = 0
    batches_sent: int = 0
    too_large: int = 0
    """Events larger than an empty batch allows (not sent)."""


class PartitionBatcher:
    """Collects events into per-key batches; `send` is called with each full (or flushed) batch."""

    def __init__(self, new_batch: Callable[[str], EventDataBatch], send: Callable[[EventDataBatch], None]) -> None:
        """`new_batch(key)` is ``client.create_batch(partition_key=key)``; `send(batch)` is ``client.send_batch``."""
        self._new_batch = new_batch
        self._send = send
        self._open: dict[str, EventDataBatch] = {}
        self.stats = BatchStats()

    def add(self, partition_key: str, body: bytes) -> bool:
        """Queue one event; False (and counted in `too_large`) if it cannot fit even an empty batch."""
        batch = self._open.get(partition_key)
        if batch is None:
            batch = self._open[partition_key] = self._new_batch(partition_key)
        try:
            batch.add(EventData(body))
            return True
        except ValueError:
            if len(batch) == 0:
                self.stats.too_large += 1
                return False
        self._ship(batch)
        batch = self._open[partition_key] = self._new_batch(partition_key)
        try:
            batch.add(EventData(body))
        except ValueError:
            self.stats.too_large += 1
            return False
        return True

    def pending(self) -> int:
        """Events queued and not yet sent."""
        return sum(len(batch) for batch in self._open.values())

    def flush(self) -> None:
        """Send every non-empty batch (the keys keep no open batch afterwards)."""
        batches, self._open = self._open, {}
        for batch in batches.values():
            if len(batch):
                self._ship(batch)

    def _ship(self, batch: EventDataBatch) -> None:
        self._send(batch)
        self.stats.events_sent += len(batch)
        self.stats.batches_sent += 1
