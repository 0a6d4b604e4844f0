"""SCD type 2 as-of lookups at their exact boundaries, and FX rates as of a date."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from shared.reference import Dimension, FxRates, OverlappingVersionsError, Product, Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 7, 1, tzinfo=UTC)
T2 = datetime(2026, 10, 1, tzinfo=UTC)
TICK = timedelta(microseconds=1)


def product(pid: str, category: str, valid_from: datetime, valid_to: datetime | None) -> Product:
    return Product(pid, f"name {pid}", category, "Dept", valid_from, valid_to)


def dimension(*members: Product) -> Dimension[Product]:
    return Dimension(members, lambda p: p.product_id)


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (T0 - TICK, None),  # before the first version
        (T0, "A"),  # valid_from is inclusive
        (T1 - TICK, "A"),
        (T1, "B"),  # valid_to is exclusive: the next version takes over exactly there
        (T2 - TICK, "B"),
        (T2, None),  # a gap: the product was off the range
        (T2 + timedelta(days=1), None),
        (T2 + timedelta(days=30), "C"),
        (datetime(2099, 1, 1, tzinfo=UTC), "C"),  # valid_to None: current
    ],
)
def test_history_boundaries(ts: datetime, expected: str | None) -> None:
    dim = dimension(
        product("P", "C", T2 + timedelta(days=30), None),  # load order does not matter
        product("P", "A", T0, T1),
        product("P", "B", T1, T2),
    )
    found = dim.as_of("P", ts)
    assert (found.category if found else None) == expected


@pytest.mark.parametrize(
    ("ts", "expected"),
    [(T0 - TICK, False), (T0, True), (T1 - TICK, True), (T1, False)],
)
def test_single_version_fast_path_boundaries(ts: datetime, expected: bool) -> None:
    dim = dimension(product("P", "A", T0, T1))
    assert (dim.as_of("P", ts) is not None) is expected


def test_any_offset_compares_by_instant() -> None:
    dim = dimension(product("P", "A", T0, T1), product("P", "B", T1, None))
    berlin_midnight = datetime(2026, 7, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))  # == T1
    assert dim.as_of("P", berlin_midnight).category == "B"  # type: ignore[union-attr]
    assert dim.as_of("P", berlin_midnight - TICK).category == "A"  # type: ignore[union-attr]


def test_unknown_key_and_introspection() -> None:
    dim = dimension(product("P", "A", T0, T1), product("P", "B", T1, None), product("Q", "X", T0, None))
    assert dim.as_of("nope", T1) is None
    assert len(dim) == 2 and "P" in dim and "nope" not in dim
    assert dim.keys() == ["P", "Q"]
    assert [v.category for v in dim.versions("P")] == ["A", "B"]
    assert dim.versions("nope") == ()
    assert sorted(m.category for m in dim.members()) == ["A", "B", "X"]


@pytest.mark.parametrize(
    "versions",
    [
        [(T0, T2), (T1, None)],  # overlapping intervals
        [(T0, None), (T1, None)],  # an open version followed by another
        [(T0, T1), (T0, T1)],  # the same row twice
    ],
)
def test_overlapping_versions_are_refused(versions: list[tuple[datetime, datetime | None]]) -> None:
    with pytest.raises(OverlappingVersionsError, match="'P'"):
        dimension(*(product("P", str(i), a, b) for i, (a, b) in enumerate(versions)))


def test_adjacent_versions_are_fine() -> None:
    dimension(product("P", "A", T0, T1), product("P", "B", T1, None))


def test_store_opening_hours_in_local_time() -> None:
    from datetime import time

    store = Store("S", "S", "R", "DE", "Europe/Berlin", T0, None, "EUR", time(9, 30), time(20), closed_on_sunday=True)
    winter = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)  # Friday 09:30 in Berlin (UTC+1)
    assert store.is_open_at(winter) and not store.is_open_at(winter - TICK)
    assert not store.is_open_at(datetime(2026, 11, 27, 19, 0, tzinfo=UTC))  # 20:00 local: closed
    assert not store.is_open_at(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))  # Sunday
    summer = datetime(2026, 7, 3, 7, 30, tzinfo=UTC)  # 09:30 CEST
    assert store.is_open_at(summer) and not store.is_open_at(summer - TICK)
    online = replace(store, opens=None, closes=None)
    assert online.is_24h and online.is_open_at(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))


FX = FxRates(
    {
        "GBP": [
            (date(2026, 1, 2), Decimal("1.1431")),
            (date(2026, 1, 1), Decimal("1.1420")),
            (date(2026, 1, 5), Decimal("1.1399")),
        ],
        "SEK": [(date(2026, 1, 1), Decimal("0.0915"))],
    },
    "EUR",
)


@pytest.mark.parametrize(
    ("currency", "day", "expected"),
    [
        ("GBP", date(2025, 12, 31), None),  # before the first rate
        ("GBP", date(2026, 1, 1), Decimal("1.1420")),
        ("GBP", date(2026, 1, 2), Decimal("1.1431")),
        ("GBP", date(2026, 1, 3), Decimal("1.1431")),  # weekend: the latest rate on or before
        ("GBP", date(2026, 1, 4), Decimal("1.1431")),
        ("GBP", date(2026, 1, 5), Decimal("1.1399")),
        ("GBP", date(2030, 1, 1), Decimal("1.1399")),
        ("SEK", date(2026, 6, 1), Decimal("0.0915")),
        ("USD", date(2026, 6, 1), None),  # unknown currency
        ("EUR", date(1999, 1, 1), Decimal(1)),  # the reporting currency, always
    ],
)
def test_fx_latest_on_or_before(currency: str, day: date, expected: Decimal | None) -> None:
    assert FX.rate(currency, day) == expected
    assert FX.rate(currency, day) == expected  # memoised answer is the same


def test_fx_rates_are_exact_decimals() -> None:
    rate = FX.rate("GBP", date(2026, 1, 1))
    assert isinstance(rate, Decimal) and str(rate) == "1.1420"
    assert Decimal("12.34") * rate == Decimal("14.092280")  # no binary float anywhere
    assert (Decimal("12.34") * rate).quantize(Decimal("0.01")) == Decimal("14.09")
    assert FX.first_date("GBP") == date(2026, 1, 1) and FX.last_date("GBP") == date(2026, 1, 5)
    assert FX.first_date("USD") is None


def test_fx_refuses_two_rates_for_one_day() -> None:
    with pytest.raises(ValueError, match="two GBP rates for 2026-01-01"):
        FxRates({"GBP": [(date(2026, 1, 1), Decimal(1)), (date(2026, 1, 1), Decimal(2))]})


@pytest.mark.parametrize("rate", [Decimal("1.14201"), Decimal(0), Decimal("-1.1"), Decimal("NaN")])
def test_fx_refuses_rates_that_are_not_positive_four_decimal_numbers(rate: Decimal) -> None:
    with pytest.raises(ValueError, match="must be positive, at most 4 decimals"):
        FxRates({"GBP": [(date(2026, 1, 1), rate)]})
    FxRates({"GBP": [(date(2026, 1, 1), Decimal("1.14200"))]})  # trailing zeros are fine
