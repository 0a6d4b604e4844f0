"""The oracle's day is the store-local business date; minute and hour stay UTC buckets."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.kpis.recompute import recompute
from tests.unit.kpis._events import NOW, enrich, footfall, txn

# Berlin is UTC+1 and London UTC+0 in November.
EVENTS = [
    txn(1, "BER-1", "sale", 80.00, "2026-11-25T22:59:59Z"),  # Berlin 23:59:59 on the 25th
    txn(2, "BER-1", "sale", 10.00, "2026-11-25T23:30:00Z"),  # Berlin 00:30 on the 26th
    txn(3, "LON-1", "sale", 20.00, "2026-11-25T23:30:00Z"),  # London 23:30 on the 25th
    txn(4, "LON-1", "sale", 40.00, "2026-11-26T00:30:00Z"),  # London 00:30 on the 26th
]


@pytest.mark.parametrize(
    ("scope", "key", "grain", "window", "gross"),
    [
        ("store", "BER-1", "day", "2026-11-25", "80.00"),
        ("store", "BER-1", "day", "2026-11-26", "10.00"),
        ("store", "LON-1", "day", "2026-11-25", "20.00"),
        ("store", "LON-1", "day", "2026-11-26", "40.00"),
        ("region", "EAST", "day", "2026-11-26", "10.00"),
        ("chain", "ALL", "day", "2026-11-25", "100.00"),  # Berlin's 25th + London's 25th
        ("chain", "ALL", "day", "2026-11-26", "50.00"),
        ("channel", "store", "day", "2026-11-26", "50.00"),
        ("chain", "ALL", "hour", "2026-11-25T22:00:00Z", "80.00"),
        ("chain", "ALL", "hour", "2026-11-25T23:00:00Z", "30.00"),  # one UTC hour, two local days
        ("chain", "ALL", "hour", "2026-11-26T00:00:00Z", "40.00"),
        ("chain", "ALL", "minute", "2026-11-25T23:30:00Z", "30.00"),
    ],
)
def test_day_windows_follow_each_stores_local_date(scope: str, key: str, grain: str, window: str, gross: str) -> None:
    rows = recompute(enrich("txn", EVENTS), NOW)
    assert rows[(scope, key, grain, window)]["gross_sales"] == Decimal(gross)  # type: ignore[index]


def test_only_touched_day_windows_exist() -> None:
    rows = recompute(enrich("txn", EVENTS), NOW)
    days = sorted((k[0], k[1], k[3]) for k in rows if k[2] == "day" and k[0] in {"store", "chain"})
    assert days == [
        ("chain", "ALL", "2026-11-25"),
        ("chain", "ALL", "2026-11-26"),
        ("store", "BER-1", "2026-11-25"),
        ("store", "BER-1", "2026-11-26"),
        ("store", "LON-1", "2026-11-25"),
        ("store", "LON-1", "2026-11-26"),
    ]


def test_traffic_counts_on_the_local_day_of_its_period_start() -> None:
    events = enrich("txn", EVENTS) + enrich("traffic", [footfall(1, "BER-1", 50, "2026-11-25T23:30:00Z")])
    rows = recompute(events, NOW)
    berlin_26 = rows[("store", "BER-1", "day", "2026-11-26")]
    assert (berlin_26["visitors"], berlin_26["conversion_rate"]) == (50, Decimal("0.0200"))
    assert rows[("store", "BER-1", "day", "2026-11-25")]["conversion_rate"] is None
    # The chain's 26th: only BER-1 counted visitors there, so only its sale is the numerator.
    assert rows[("chain", "ALL", "day", "2026-11-26")]["conversion_rate"] == Decimal("0.0200")
