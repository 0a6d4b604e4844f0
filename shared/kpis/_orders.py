"""Order lifecycles from status events, for the recomputation oracle: which status counts where."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.contracts import OrderStatus
from shared.contracts.fulfillment import COMPLETION_STATUSES
from shared.pipeline.enriched import EnrichedEvent

__all__ = ["OrderHistory", "cycle_ms", "on_time", "order_histories", "promised_ts"]

_ONE_MS = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class OrderHistory:
    """All accepted status events of one order, oldest first by (status_ts, event_id)."""

    order_id: str
    events: tuple[EnrichedEvent, ...]

    def _first(self, statuses: frozenset[str]) -> EnrichedEvent | None:
        return next((e for e in self.events if _status(e).status in statuses), None)

    @property
    def placed(self) -> EnrichedEvent | None:
        """The earliest `placed` event: the order counts as placed once, in its window."""
        return self._first(frozenset({"placed"}))

    @property
    def completion(self) -> EnrichedEvent | None:
        """The first `shipped` or `ready_for_pickup` event: the order's one completion."""
        return self._first(COMPLETION_STATUSES)

    @property
    def cancellation(self) -> EnrichedEvent | None:
        """The earliest `cancelled` event: the order counts as cancelled once, in its window."""
        return self._first(frozenset({"cancelled"}))

    @property
    def latest(self) -> EnrichedEvent:
        """The latest status event: the order's current state, store and promise."""
        return self.events[-1]

    def is_open(self) -> bool:
        """Placed, and neither completed nor cancelled (whatever the arrival order)."""
        return self.placed is not None and self.completion is None and self.cancellation is None


def _status(event: EnrichedEvent) -> OrderStatus:
    status = event.event
    if not isinstance(status, OrderStatus):
        raise TypeError(f"not an order status event: {type(status).__name__}")
    return status


def on_time(completion: EnrichedEvent) -> bool:
    """Completed at or before the promise carried by the completion event itself."""
    status = _status(completion)
    return status.status_ts <= status.promised_ts


def cycle_ms(completion: EnrichedEvent) -> int:
    """Completion `status_ts` - `order_placed_ts` of the completion event, in whole ms (floored)."""
    status = _status(completion)
    return (status.status_ts - status.order_placed_ts) // _ONE_MS


def promised_ts(event: EnrichedEvent) -> datetime:
    """The promise carried by a status event."""
    return _status(event).promised_ts


def order_histories(events: Iterable[EnrichedEvent]) -> list[OrderHistory]:
    """The order status events grouped by `order_id`, each group sorted by (status_ts, event_id)."""
    groups: dict[str, list[EnrichedEvent]] = {}
    for event in events:
        if isinstance(event.event, OrderStatus):
            groups.setdefault(event.event.order_id, []).append(event)
    return [
        OrderHistory(order_id, tuple(sorted(group, key=lambda e: (_status(e).status_ts, e.event.event_id))))
        for order_id, group in groups.items()
    ]
