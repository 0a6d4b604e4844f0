"""Order state: the facts of an order folded from its status events, whatever their arrival order.

Status events are ordered by (status_ts, event_id). Placed, completed and cancelled
each count once, at the earliest such status; each fact is attributed to the store
segment (region, channel, time zone) of the event that defines it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from shared.contracts.fulfillment import COMPLETION_STATUSES

__all__ = ["OrderFacts", "StatusRecord", "order_facts", "window_contributions"]

StatusRecord = tuple[str, int, int, int, str, str, str, str]
"""(status, status_ts µs, promised_ts µs, order_placed_ts µs, event_id, region, channel, timezone)."""

_MINUTE_US: Final = 60_000_000


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What the KPIs need of one order."""

    placed: StatusRecord | None
    """The earliest `placed` status."""
    completion: StatusRecord | None
    """The earliest `shipped` / `ready_for_pickup` status: the order is completed once, there."""
    cancellation: StatusRecord | None
    latest: StatusRecord
    """The latest status: the order's current promise and attributes."""

    @property
    def is_open(self) -> bool:
        """Placed, and neither completed nor cancelled."""
        return self.placed is not None and self.completion is None and self.cancellation is None

    @property
    def latest_promised_us(self) -> int:
        return self.latest[2]


def _order(record: StatusRecord) -> tuple[int, str]:
    return record[1], record[4]


def order_facts(statuses: Sequence[StatusRecord]) -> OrderFacts:
    """Fold status records (any arrival order) into the order's facts."""
    ordered = sorted(statuses, key=_order)
    placed = next((r for r in ordered if r[0] == "placed"), None)
    completion = next((r for r in ordered if r[0] in COMPLETION_STATUSES), None)
    cancellation = next((r for r in ordered if r[0] == "cancelled"), None)
    return OrderFacts(placed, completion, cancellation, ordered[-1])


def window_contributions(statuses: Sequence[StatusRecord]) -> dict[tuple[int, str], dict[str, int]]:
    """Counters per (epoch minute, defining event's segment attributes) for every minute any status touches.

    The key's second part is ``region|channel|timezone``. Minutes where the order no
    longer counts map to ``{}``, so a rollup can clear a contribution that a late,
    earlier status moved elsewhere.
    """
    facts = order_facts(statuses)
    out: dict[tuple[int, str], dict[str, int]] = {(r[1] // _MINUTE_US, _attrs(r)): {} for r in statuses}
    if facts.placed is not None:
        out[(facts.placed[1] // _MINUTE_US, _attrs(facts.placed))]["placed"] = 1
    if facts.completion is not None:
        done = facts.completion
        slot = out[(done[1] // _MINUTE_US, _attrs(done))]
        slot["completed"] = 1
        slot["on_time"] = int(done[1] <= done[2])
        slot["cycle_ms"] = (done[1] - done[3]) // 1000
    if facts.cancellation is not None:
        out[(facts.cancellation[1] // _MINUTE_US, _attrs(facts.cancellation))]["cancelled"] = 1
    return out


def _attrs(record: StatusRecord) -> str:
    return f"{record[5]}|{record[6]}|{record[7]}"
