"""What the generator yields: one raw event body with its routing and timing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

__all__ = ["GeneratedEvent"]


class GeneratedEvent(NamedTuple):
    """One message for an Event Hub, in the order a producer would send it."""

    source: str
    """The source (hub) it belongs to: txn, traffic, fulfillment, ingest, ops, gov, cost."""
    partition_key: str
    """The store id (`merchant_id` / `store_id`) for retail sources; service, dataset,
    resource or landing system for the platform sources."""
    body: bytes
    """The exact bytes to send (UTF-8 JSON, or a deliberately broken body)."""
    event_ms: int
    """Event time (the contract's event-time field) in epoch milliseconds."""
    delivery_ms: int
    """When the producer sends it: the event time, later for door counters (end of the
    minute), cost records (after the hour) and for late / out-of-order faults."""
    faults: tuple[str, ...] = ()
    """Injected faults: ``duplicate``, ``late``, ``out_of_order``, ``malformed:<kind>``."""

    @property
    def event_time(self) -> datetime:
        return datetime.fromtimestamp(self.event_ms / 1000, UTC)

    @property
    def delivery_time(self) -> datetime:
        return datetime.fromtimestamp(self.delivery_ms / 1000, UTC)

    @property
    def malformed(self) -> bool:
        return any(f.startswith("malformed") for f in self.faults)
