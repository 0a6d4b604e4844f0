"""The oracle on sales and conversion: hand-computed rows from real enriched events."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.kpis.recompute import recompute
from shared.kpis.state import Scope
from shared.pipeline.enriched import EnrichedEvent
from tests.support.samples import body
from tests.unit.kpis._events import NOW, enrich, footfall, txn

T = "2026-11-26T10:05:{:02d}Z"
MINUTE = "2026-11-26T10:05:00Z"
HOUR = "2026-11-26T10:00:00Z"


def _basket() -> list[EnrichedEvent]:
    return enrich(
        "txn",
        [
            txn(1, "BER-1", "sale", 30.00, T.format(1), units=2),
            txn(2, "BER-1", "sale", 12.35, T.format(2)),
            txn(3, "BER-1", "refund", 5.00, T.format(3)),
            txn(4, "BER-1", "void", 7.00, T.format(4)),
        ],
    )


def test_sales_refunds_and_voids_give_hand_computed_kpis() -> None:
    row = recompute(_basket(), NOW)[("store", "BER-1", "minute", MINUTE)]
    assert (row["gross_sales"], row["refunds"], row["net_sales"]) == (
        Decimal("42.35"),
        Decimal("5.00"),
        Decimal("37.35"),
    )
    assert (row["transactions"], row["voids"], row["units"]) == (2, 1, 3)  # refund and void add no units
    assert row["aov"] == Decimal("18.68")  # 37.35 / 2 = 18.675, half away from zero
    assert (row["upt"], row["refund_rate"]) == (Decimal("1.5000"), Decimal("0.5000"))
    assert (row["conversion_rate"], row["visitors"]) == (None, 0)
    assert (row["as_of"], row["open_backlog"]) == (None, None)


def test_every_scope_and_grain_holds_the_same_basket() -> None:
    rows = recompute(_basket(), NOW)
    keys = {
        ("store", "BER-1"),
        ("region", "EAST"),
        ("chain", "ALL"),
        ("channel", "store"),
    }
    windows = {("minute", MINUTE), ("hour", HOUR), ("day", "2026-11-26")}
    assert set(rows) == {(s, k, g, w) for s, k in keys for g, w in windows}
    assert {row["net_sales"] for row in rows.values()} == {Decimal("37.35")}


def test_duplicates_count_once_and_the_first_occurrence_wins() -> None:
    events = _basket()
    again = enrich("txn", [txn(1, "BER-1", "sale", 99.00, T.format(9))])  # same event_id, other content
    rows = recompute(events + events + again, NOW)
    assert rows[("chain", "ALL", "hour", HOUR)]["gross_sales"] == Decimal("42.35")
    assert rows == recompute(events, NOW)


def test_a_window_with_only_a_void_has_no_ratios() -> None:
    rows = recompute(enrich("txn", [txn(1, "LON-1", "void", 7.00, T.format(0))]), NOW)
    row = rows[("region", "UK", "minute", MINUTE)]
    assert (row["voids"], row["gross_sales"], row["aov"], row["upt"], row["refund_rate"]) == (
        1,
        Decimal("0.00"),
        None,
        None,
        None,
    )


def _conversion_events() -> list[EnrichedEvent]:
    sales = [
        txn(1, "BER-1", "sale", 10.00, T.format(1)),
        txn(2, "BER-1", "sale", 10.00, T.format(2)),
        txn(3, "BER-2", "sale", 10.00, T.format(3)),  # BER-2 has no counter in this minute
        txn(4, "BER-2", "sale", 10.00, T.format(4)),
        txn(5, "BER-2", "sale", 10.00, T.format(5)),
        txn(6, "WEB", "sale", 10.00, T.format(6)),
    ]
    traffic = [
        footfall(1, "BER-1", 40, T.format(0)),
        footfall(2, "BER-3", 10, T.format(0)),  # counted visitors, sold nothing
        footfall(3, "BER-2", 0, "2026-11-26T10:06:00Z"),  # a counter report of 0 in the next minute
        footfall(4, "WEB", 200, T.format(0)),
    ]
    return enrich("txn", sales) + enrich("traffic", traffic)


@pytest.mark.parametrize(
    ("scope", "key", "grain", "window", "transactions", "visitors", "rate"),
    [
        ("store", "BER-1", "minute", MINUTE, 2, 40, "0.0500"),
        ("store", "BER-2", "minute", MINUTE, 3, 0, None),  # no counter: no conversion
        ("store", "BER-3", "minute", MINUTE, 0, 10, "0.0000"),
        ("store", "BER-2", "hour", HOUR, 3, 0, None),  # counted in the hour, but 0 visitors
        # region: BER-1 and BER-3 counted: 2 / 50, not 5 / 50 and not the mean of 0.05 and 0
        ("region", "EAST", "minute", MINUTE, 5, 50, "0.0400"),
        # in the hour BER-2 counted too (a report of 0 visitors): (2 + 3) / (40 + 10 + 0)
        ("region", "EAST", "hour", HOUR, 5, 50, "0.1000"),
        ("channel", "web", "minute", MINUTE, 1, 200, "0.0050"),  # WEB sales over WEB sessions
        ("channel", "store", "minute", MINUTE, 5, 50, "0.0400"),
        ("chain", "ALL", "minute", MINUTE, 6, 250, "0.0120"),  # (2 + 1) / (40 + 10 + 200)
        ("chain", "ALL", "day", "2026-11-26", 6, 250, "0.0240"),  # (2 + 3 + 1) / 250 once BER-2 counted
    ],
)
def test_conversion_is_a_ratio_of_sums_over_the_stores_that_counted_visitors(
    scope: str, key: str, grain: str, window: str, transactions: int, visitors: int, rate: str | None
) -> None:
    row = recompute(_conversion_events(), NOW)[(scope, key, grain, window)]  # type: ignore[index]
    assert (row["transactions"], row["visitors"]) == (transactions, visitors)
    assert row["conversion_rate"] == (None if rate is None else Decimal(rate))


def test_a_store_changing_region_mid_window_converts_per_region_part() -> None:
    events = enrich(
        "txn",
        [
            txn(1, "MOVER", "sale", 10.00, "2026-11-26T10:20:00Z"),  # still NORTH
            txn(2, "MOVER", "sale", 10.00, "2026-11-26T10:40:00Z"),  # SOUTH from 10:30
        ],
    ) + enrich("traffic", [footfall(1, "MOVER", 20, "2026-11-26T10:10:00Z")])
    rows = recompute(events, NOW)
    members: list[tuple[Scope, str]] = [("store", "MOVER"), ("region", "NORTH"), ("region", "SOUTH"), ("chain", "ALL")]
    hours = {member: rows[(*member, "hour", HOUR)] for member in members}
    rates = {member: (row["transactions"], row["conversion_rate"]) for member, row in hours.items()}
    assert rates == {
        ("store", "MOVER"): (2, Decimal("0.1000")),  # the whole store counted visitors in the hour
        ("region", "NORTH"): (1, Decimal("0.0500")),
        ("region", "SOUTH"): (1, None),  # its part of the store counted no visitors
        ("chain", "ALL"): (2, Decimal("0.0500")),  # the sum of the regions: 1 / 20
    }


def test_platform_events_carry_no_retail_rows() -> None:
    assert recompute(enrich("ops", [body("ops")]) + enrich("cost", [body("cost")]), NOW) == {}
