"""Order state: the facts of an order folded from its status events, whatever their arrival order.

Status events are ordered by (status_ts, event_id). Placed, completed and cancelled
each count once, at the earliest such status; each fact is attributed to the store
segment (region, channel, time zone) of the event that defines it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from shared.contracts.fulfillment import COMPLETION_STATUSES

__all__ = ["OrderFacts", "StatusRecord", "minute_versions", "order_facts", "window_contributions"]

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


def minute_versions(
    before: Sequence[StatusRecord], after: Sequence[StatusRecord], kept: Mapping[str, int] | None, before_v: int, v: int
) -> dict[str, int]:
    """For every minute the order touches, the order version at which that minute's part last changed.

    `before` and `after` are the status records of versions `before_v` and `v`; `kept`
    is what version `before_v` recorded (None for a document written before minutes had
    versions: then an unchanged minute is stamped `before_v`, the version a rollup may
    have taken it at). A minute whose part did not change keeps its version, so the
    rollup that holds it finds nothing newer and writes nothing: a shipment no longer
    rewrites the minute the order was placed in, nor that minute's hour, region, channel
    and chain. The version still rises with every change of the part, so a stale feed
    page (an older order version) is still refused.
    """
    old = _by_minute(window_contributions(before)) if before else {}
    out: dict[str, int] = {}
    for minute, parts in _by_minute(window_contributions(after)).items():
        name = str(minute)
        if old.get(minute) == parts:
            out[name] = kept.get(name, before_v) if kept is not None else before_v
        else:
            out[name] = v
    return out


def _by_minute(contributions: dict[tuple[int, str], dict[str, int]]) -> dict[int, dict[str, dict[str, int]]]:
    out: dict[int, dict[str, dict[str, int]]] = {}
    for (minute, attrs), counters in contributions.items():
        out.setdefault(minute, {})[attrs] = counters
    return out


def _attrs(record: StatusRecord) -> str:
    return f"{record[5]}|{record[6]}|{record[7]}"
