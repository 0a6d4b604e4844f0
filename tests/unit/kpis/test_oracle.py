"""The independent oracle itself, against values worked out by hand from contracts.md and the demo CSV files."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from shared.kpis.formulas import KPI_ROW_FIELDS
from shared.reference import demo_reference_dir
from tests.support import oracle
from tests.support.oracle.retail import place_of
from tests.support.samples import body

REFERENCE = oracle.load(demo_reference_dir())
NOW = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("store", "at", "region", "day"),
    [
        ("DE012", datetime(2026, 6, 30, 21, 59, 59, 999000, tzinfo=UTC), "DE_NORTH", "2026-06-30"),  # 23:59:59.999 CEST
        ("DE012", datetime(2026, 6, 30, 22, 0, tzinfo=UTC), "DE_SOUTH", "2026-07-01"),  # its move, at local midnight
        ("GB001", datetime(2026, 6, 30, 22, 59, 59, tzinfo=UTC), "UK_SOUTH", "2026-06-30"),  # 23:59:59 BST
        ("GB001", datetime(2026, 6, 30, 23, 0, tzinfo=UTC), "UK_SOUTH", "2026-07-01"),
        ("PL001", datetime(2026, 3, 28, 23, 0, tzinfo=UTC), "CEE", "2026-03-29"),  # CET midnight, 2 h before DST
        ("SE001", datetime(2026, 10, 24, 21, 59, tzinfo=UTC), "NORDICS", "2026-10-24"),  # 23:59 CEST
        ("GB001", datetime(2026, 10, 24, 23, 30, tzinfo=UTC), "UK_SOUTH", "2026-10-25"),  # 00:30 BST
        ("GHOST", datetime(2026, 6, 30, 23, 30, tzinfo=UTC), "UNASSIGNED", "2026-06-30"),  # unknown: the UTC date
    ],
)
def test_store_local_business_date_and_region_as_of_the_event(store: str, at: datetime, region: str, day: str) -> None:
    place = place_of(REFERENCE, store, at)
    assert (place.region, place.day, place.minute[:10]) == (region, day, at.date().isoformat())


def test_fx_to_cents_half_away_from_zero_with_the_rate_of_the_utc_date() -> None:
    assert REFERENCE.rate("GBP", date(2026, 6, 30)) == Decimal("1.1527")
    assert REFERENCE.rate("GBP", date(2026, 3, 29)) == Decimal("1.1283")  # a Sunday: Friday's rate repeated
    assert REFERENCE.rate("EUR", date(2026, 6, 30)) == 1 and REFERENCE.rate("XTS", date(2026, 6, 30)) is None
    assert oracle.to_reporting_cents(Decimal("150.00"), Decimal("1.1527")) == 17291  # 172.905 -> 172.91
    assert oracle.to_reporting_cents(Decimal("50.00"), Decimal("1.1527")) == 5764  # 57.635 -> 57.64
    assert oracle.to_reporting_cents(Decimal("0.01"), Decimal("0.5")) == 1  # 0.005 -> 0.01


def test_verdicts_and_rows_of_a_small_stream() -> None:
    sale = {
        "merchant_id": "DE012",
        "currency": "GBP",
        "lines": [{"product_id": "P1", "quantity": 1, "unit_price": 150.0}],
    }
    bodies = [
        body("txn", 1, amount=150.0, posted_ts="2026-06-30T21:59:30Z", **sale),
        body("txn", 2, amount=150.0, posted_ts="2026-06-30T22:00:00Z", **sale),
        body("txn", 1, amount=150.0, posted_ts="2026-06-30T21:59:30Z", **sale),  # a producer duplicate
        body("txn", 3, amount=150.0, posted_ts="2026-06-30T22:00:00Z", **{**sale, "currency": "XTS"}),
        b"{not json",
    ]
    outcome = oracle.accept("txn", bodies, NOW, REFERENCE)
    assert (outcome.received, len(outcome.accepted), outcome.duplicates, outcome.dead_letters) == (5, 2, 1, 2)
    rows = oracle.kpi_rows(outcome.accepted, REFERENCE)
    assert rows[("store", "DE012", "day", "2026-06-30")]["gross_sales"] == Decimal("172.91")
    assert rows[("store", "DE012", "day", "2026-07-01")]["gross_sales"] == Decimal("172.91")
    assert rows[("region", "DE_NORTH", "hour", "2026-06-30T21:00:00Z")]["transactions"] == 1
    assert rows[("region", "DE_SOUTH", "hour", "2026-06-30T22:00:00Z")]["transactions"] == 1
    chain_day = rows[("chain", "ALL", "day", "2026-06-30")]
    assert (chain_day["net_sales"], chain_day["aov"], chain_day["conversion_rate"]) == (
        Decimal("172.91"),
        Decimal("172.91"),
        None,
    )


def test_ratios_round_half_away_from_zero() -> None:
    assert oracle.rounded(1, 32, 4) == Decimal("0.0313")
    assert oracle.rounded(-25, 2, 0) == Decimal("-13")
    assert oracle.rounded(Decimal("0.25"), 2, 2) == Decimal("0.13")
    assert oracle.rounded(1, 0, 4) is None


def test_the_oracle_checks_every_windowed_kpi_of_a_row() -> None:
    windowed = tuple(name for name in KPI_ROW_FIELDS[5:] if not name.endswith("_backlog"))
    assert windowed == oracle.KPIS  # the same names, in the same order: none left uncompared
