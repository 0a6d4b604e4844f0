"""Order state: the facts of an order folded from its status events, whatever their arrival order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from shared.contracts.fulfillment import COMPLETION_STATUSES

__all__ = ["OrderFacts", "StatusRecord", "order_facts", "window_contributions"]

StatusRecord = tuple[str, int, int, int]
"""(status, status_ts ms, promised_ts ms, order_placed_ts ms) as stored in an order document."""

_MINUTE_MS: Final = 60_000


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What the KPIs need of one order (times in epoch ms)."""

    placed_ms: int | None
    """Earliest `placed` status_ts."""
    completed_ms: int | None
    """Earliest `shipped` / `ready_for_pickup` status_ts: the order is completed once, there."""
    on_time: bool
    cycle_ms: int
    cancelled_ms: int | None
    latest_promised_ms: int
    """promised_ts of the latest status by status_ts (the current promise)."""

    @property
    def is_open(self) -> bool:
        """Placed, and neither completed nor cancelled."""
        return self.placed_ms is not None and self.completed_ms is None and self.cancelled_ms is None

    def is_overdue(self, now_ms: int) -> bool:
        """Open and past its promise at `now_ms`."""
        return self.is_open and self.latest_promised_ms < now_ms


def order_facts(statuses: Sequence[StatusRecord]) -> OrderFacts:
    """Fold status records (any order, any duplicates) into the order's facts."""
    placed = min((ts for status, ts, _, _ in statuses if status == "placed"), default=None)
    completion = min((r for r in statuses if r[0] in COMPLETION_STATUSES), key=lambda r: (r[1], r[0]), default=None)
    cancelled = min((ts for status, ts, _, _ in statuses if status == "cancelled"), default=None)
    latest = max(statuses, key=lambda r: (r[1], r[0]))
    if completion is None:
        return OrderFacts(placed, None, False, 0, cancelled, latest[2])
    _, done_ms, promised_ms, placed_order_ms = completion
    return OrderFacts(placed, done_ms, done_ms <= promised_ms, done_ms - placed_order_ms, cancelled, latest[2])


def window_contributions(statuses: Sequence[StatusRecord]) -> dict[int, dict[str, int]]:
    """Counters per window (epoch minute) for every minute any status of the order falls in.

    Minutes where the order no longer counts map to ``{}``, so a rollup can clear a
    contribution that a late, earlier status moved elsewhere.
    """
    facts = order_facts(statuses)
    out: dict[int, dict[str, int]] = {ts // _MINUTE_MS: {} for _, ts, _, _ in statuses}
    if facts.placed_ms is not None:
        out[facts.placed_ms // _MINUTE_MS]["placed"] = 1
    if facts.completed_ms is not None:
        slot = out[facts.completed_ms // _MINUTE_MS]
        slot["completed"] = 1
        slot["on_time"] = int(facts.on_time)
        slot["cycle_ms"] = facts.cycle_ms
    if facts.cancelled_ms is not None:
        out[facts.cancelled_ms // _MINUTE_MS]["cancelled"] = 1
    return out
