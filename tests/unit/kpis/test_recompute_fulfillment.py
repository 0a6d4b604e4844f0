"""The oracle on fulfillment: out-of-order statuses, one completion per order, distinct cancellations, backlog."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.kpis.recompute import recompute, recompute_backlog
from shared.kpis.state import Grain
from shared.pipeline.enriched import EnrichedEvent
from tests.unit.kpis._events import NOW, enrich, status

D = "2026-11-26T{}:00Z"
LATER = "2026-11-28T00:00:00Z"
PAST = "2026-11-26T12:00:00Z"


def _row(events: list[EnrichedEvent], grain: Grain, window: str, key: str = "BER-1") -> dict[str, Any]:
    return recompute(events, NOW)[("store", key, grain, window)]


def test_out_of_order_statuses_and_a_second_shipped_count_one_completion() -> None:
    events = enrich(
        "fulfillment",
        [
            status(1, "O-1", "placed", D.format("10:00"), PAST),
            status(2, "O-1", "shipped", D.format("10:30"), PAST, placed=D.format("10:00")),
            status(3, "O-1", "packed", D.format("10:20"), PAST, placed=D.format("10:00")),  # arrives after shipped
            status(4, "O-1", "shipped", D.format("11:10"), PAST, placed=D.format("10:00")),  # a second shipped
        ],
    )
    placed = _row(events, "minute", D.format("10:00"))
    assert (placed["orders_placed"], placed["orders_completed"]) == (1, 0)
    done = _row(events, "minute", D.format("10:30"))
    assert (done["orders_completed"], done["on_time_rate"], done["avg_cycle_time_s"]) == (
        1,
        Decimal("1.0000"),
        Decimal("1800.000"),
    )
    assert _row(events, "minute", D.format("11:10"))["orders_completed"] == 0
    day = _row(events, "day", "2026-11-26")
    assert (day["orders_placed"], day["orders_completed"], day["cancellations"]) == (1, 1, 0)


def test_an_earlier_completion_arriving_later_moves_the_completion_window() -> None:
    first = enrich(
        "fulfillment",
        [
            status(1, "O-2", "placed", D.format("10:00"), D.format("11:00")),
            status(2, "O-2", "ready_for_pickup", D.format("11:40"), D.format("11:00"), placed=D.format("10:00")),
        ],
    )
    late = _row(first, "hour", D.format("11:00"))
    assert (late["orders_completed"], late["on_time_rate"], late["avg_cycle_time_s"]) == (
        1,
        Decimal("0.0000"),
        Decimal("6000.000"),
    )
    earlier = enrich(
        "fulfillment", [status(3, "O-2", "shipped", D.format("10:50"), D.format("11:00"), placed=D.format("10:00"))]
    )
    moved = first + earlier
    assert _row(moved, "hour", D.format("11:00"))["orders_completed"] == 0
    row = _row(moved, "hour", D.format("10:00"))
    assert (row["orders_placed"], row["orders_completed"], row["on_time_rate"], row["avg_cycle_time_s"]) == (
        1,
        1,
        Decimal("1.0000"),  # 10:50 <= 11:00
        Decimal("3000.000"),
    )


def test_on_time_is_at_or_before_the_promise_and_cycle_is_a_mean() -> None:
    events = enrich(
        "fulfillment",
        [
            status(1, "O-3", "placed", D.format("10:00"), D.format("10:45")),
            status(2, "O-3", "shipped", D.format("10:45"), D.format("10:45"), placed=D.format("10:00")),  # exactly
            status(3, "O-4", "placed", D.format("10:15"), D.format("10:44")),
            status(4, "O-4", "shipped", D.format("10:45"), D.format("10:44"), placed=D.format("10:15")),  # 1 min late
        ],
    )
    row = _row(events, "minute", D.format("10:45"))
    assert (row["orders_completed"], row["on_time_rate"], row["avg_cycle_time_s"]) == (
        2,
        Decimal("0.5000"),
        Decimal("2250.000"),  # (2700 s + 1800 s) / 2
    )


def test_cancellations_are_distinct_orders_at_their_earliest_cancel() -> None:
    events = enrich(
        "fulfillment",
        [
            status(1, "O-5", "placed", D.format("10:00"), LATER),
            status(2, "O-5", "cancelled", D.format("10:20"), LATER),
            status(3, "O-5", "cancelled", D.format("10:10"), LATER),  # earlier, arrives later
            status(4, "O-5", "cancelled", D.format("10:10"), LATER),  # a second event, same order
            status(5, "O-6", "placed", D.format("10:05"), LATER),
            status(6, "O-7", "placed", D.format("10:05"), LATER),
            status(7, "O-7", "placed", D.format("10:06"), LATER),  # placed again: counted once, earliest
        ],
    )
    assert _row(events, "minute", D.format("10:10"))["cancellations"] == 1
    assert _row(events, "minute", D.format("10:20"))["cancellations"] == 0
    assert _row(events, "minute", D.format("10:06"))["orders_placed"] == 0
    hour = _row(events, "hour", D.format("10:00"))
    assert (hour["orders_placed"], hour["cancellations"], hour["cancellation_rate"]) == (3, 1, Decimal("0.3333"))
    assert _row(events, "minute", D.format("10:10"))["cancellation_rate"] is None  # nothing placed that minute


BACKLOG_EVENTS = [
    status(1, "A", "placed", D.format("10:00"), LATER),  # open
    status(2, "B", "placed", D.format("10:00"), PAST),  # open, overdue at NOW
    status(3, "C", "placed", D.format("10:00"), PAST),
    status(4, "C", "shipped", D.format("10:30"), PAST),  # completed: not open
    status(5, "D", "cancelled", D.format("10:30"), PAST, store="BER-2"),  # cancel arrives before placed
    status(6, "D", "placed", D.format("10:00"), PAST, store="BER-2"),
    status(7, "E", "picked", D.format("10:00"), PAST, store="BER-3"),  # never placed: no backlog
    status(8, "F", "placed", D.format("10:00"), PAST, store="BER-2"),
    status(9, "F", "packed", D.format("11:00"), LATER, store="BER-2"),  # re-promised: not overdue
    status(10, "G", "placed", D.format("10:00"), LATER, store="LON-1"),
    status(11, "G", "picked", D.format("09:59"), PAST, store="LON-1"),  # older status: its promise is stale
    status(12, "H", "placed", D.format("10:00"), PAST, store="LON-1"),  # overdue
]


@pytest.mark.parametrize(
    ("scope", "key", "expected"),
    [
        ("store", "BER-1", (2, 1)),
        ("store", "BER-2", (1, 0)),
        ("store", "LON-1", (2, 1)),
        ("region", "EAST", (3, 1)),
        ("region", "UK", (2, 1)),
        ("chain", "ALL", (5, 2)),
        ("channel", "store", (5, 2)),
    ],
)
def test_backlog_open_and_overdue_as_of_now(scope: str, key: str, expected: tuple[int, int]) -> None:
    backlog = recompute_backlog(enrich("fulfillment", BACKLOG_EVENTS), NOW)
    assert backlog[(scope, key)] == expected  # type: ignore[index]
    assert ("store", "BER-3") not in backlog


def test_backlog_depends_on_now_and_needs_an_aware_clock() -> None:
    events = enrich("fulfillment", BACKLOG_EVENTS)
    before_promises = datetime(2026, 11, 26, 11, 59, tzinfo=UTC)
    assert recompute_backlog(events, before_promises)[("chain", "ALL")] == (5, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        recompute_backlog(events, datetime(2026, 11, 27))
