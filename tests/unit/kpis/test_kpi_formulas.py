"""KPI formulas: exact money, ratios rounded half away from zero, None on a zero denominator."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from shared.kpis.formulas import (
    KPI_ROW_FIELDS,
    kpi_row,
    rounded_ratio,
    row_to_json,
    store_conversion_sales,
    window_start,
)
from shared.kpis.state import Scope, empty_state

IST = timezone(timedelta(hours=5, minutes=30))
RATIOS = ("aov", "upt", "refund_rate", "conversion_rate", "on_time_rate", "avg_cycle_time_s", "cancellation_rate")


def _row(scope: Scope = "chain", /, **counters: int) -> dict[str, object]:
    return kpi_row(scope, "ALL", "minute", "2026-11-26T10:05:00Z", {**empty_state(), **counters}, None)


def test_sales_kpis_from_hand_computed_counters() -> None:
    # 3 sales of 40.00 + 35.00 + 25.00, one refund of 25.00, two voids, 7 units.
    row = _row(gross_cents=10000, refund_cents=2500, sales=3, refunds=1, voids=2, units=7)
    money = (row["gross_sales"], row["refunds"], row["net_sales"])
    assert money == (Decimal("100.00"), Decimal("25.00"), Decimal("75.00"))
    assert (row["transactions"], row["voids"], row["units"]) == (3, 2, 7)
    assert row["aov"] == Decimal("25.00")
    assert row["upt"] == Decimal("2.3333")
    assert row["refund_rate"] == Decimal("0.3333")
    assert str(row["gross_sales"]) == "100.00"  # two places, not 1E+2


def test_every_ratio_is_none_on_a_zero_denominator() -> None:
    row = _row(refund_cents=500, refunds=2, voids=1, cycle_ms=10, on_time=0, cancelled=1, conv_sales=3)
    assert {name: row[name] for name in RATIOS} == dict.fromkeys(RATIOS)
    assert (row["net_sales"], row["transactions"], row["visitors"]) == (Decimal("-5.00"), 0, 0)
    empty = _row()
    assert {name: empty[name] for name in RATIOS} == dict.fromkeys(RATIOS)
    assert empty["gross_sales"] == Decimal("0.00")


@pytest.mark.parametrize(
    ("net_cents", "sales", "aov"),
    [
        (1001, 2, "5.01"),  # 5.005 -> half away from zero
        (-1001, 2, "-5.01"),  # refunds exceed sales: away from zero on the negative side too
        (1003, 2, "5.02"),  # 5.015 -> 5.02 (banker's rounding would also give 5.02)
        (1005, 2, "5.03"),  # 5.025 -> 5.03 (banker's would give 5.02)
        (1000, 3, "3.33"),
        (2000, 3, "6.67"),
        (0, 4, "0.00"),
    ],
)
def test_aov_is_rounded_to_the_cent_half_away_from_zero(net_cents: int, sales: int, aov: str) -> None:
    gross, refund = (net_cents, 0) if net_cents >= 0 else (0, -net_cents)
    assert _row(gross_cents=gross, refund_cents=refund, sales=sales)["aov"] == Decimal(aov)


@pytest.mark.parametrize(
    ("counters", "name", "expected"),
    [
        ({"units": 1, "sales": 8}, "upt", "0.1250"),
        ({"units": 2, "sales": 3}, "upt", "0.6667"),
        ({"refunds": 1, "sales": 20000}, "refund_rate", "0.0001"),  # 0.00005 -> up
        ({"refunds": 1, "sales": 20001}, "refund_rate", "0.0000"),  # 0.0000499... -> down
        ({"on_time": 2, "completed": 3}, "on_time_rate", "0.6667"),
        ({"cycle_ms": 3001, "completed": 2}, "avg_cycle_time_s", "1.501"),  # 1500.5 ms
        ({"cycle_ms": 5400000, "completed": 3}, "avg_cycle_time_s", "1800.000"),
        ({"cancelled": 3, "placed": 2}, "cancellation_rate", "1.5000"),  # may exceed 1
        ({"conv_sales": 5, "visitors": 50}, "conversion_rate", "0.1000"),
    ],
)
def test_ratios_have_fixed_places_rounded_half_away_from_zero(
    counters: dict[str, int], name: str, expected: str
) -> None:
    value = _row(**counters)[name]
    assert isinstance(value, Decimal)
    assert str(value) == expected


@given(st.integers(0, 10**9), st.integers(0, 6), st.booleans())
@example(0, 4, False)  # 0.00005 -> 0.0001 (banker's 0.0000)
@example(1, 2, True)  # -0.015 -> -0.02 (banker's -0.02)
@example(2, 2, False)  # 0.025 -> 0.03 (banker's 0.02)
def test_every_ratio_tie_is_rounded_away_from_zero(k: int, places: int, negative: bool) -> None:
    """(2k + 1) / (2 x 10^places) ends in exactly half a unit of the last place: a tie, whatever k."""
    sign = -1 if negative else 1
    value = rounded_ratio(sign * (2 * k + 1), 2 * 10**places, places)
    assert value == Decimal(sign * (k + 1)).scaleb(-places)


@given(st.integers(-(10**12), 10**12), st.integers(-(10**6), 10**6).filter(bool), st.integers(0, 6))
@example(1005, 200, 2)  # aov of 10.05 over 2 sales: 5.025 -> 5.03
@example(3001, 2000, 3)  # avg cycle of 3001 ms over 2: 1.5005 -> 1.501
@example(1, 32, 4)  # refund rate 1/32 = 0.03125 -> 0.0313
@example(1, -8, 2)  # -0.125 -> -0.13
@example(-1, -8, 2)  # 0.125 -> 0.13
def test_rounded_ratio_matches_decimal_half_away_from_zero(numerator: int, denominator: int, places: int) -> None:
    exact = Decimal(abs(numerator)) / Decimal(abs(denominator))
    sign = 1 if (numerator >= 0) == (denominator > 0) else -1
    expected = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP) * sign
    assert rounded_ratio(numerator, denominator, places) == expected


def test_rounded_ratio_defaults_to_4_places_and_never_writes_a_negative_zero() -> None:
    assert str(rounded_ratio(1, 3)) == "0.3333"  # the platform rates use the default
    assert str(rounded_ratio(0, 5)) == "0.0000" and str(rounded_ratio(0, -5, 2)) == "0.00"
    assert b"-0" not in row_to_json(_row(refunds=0, sales=5))


def test_store_conversion_counts_sales_only_where_the_store_counted_visitors() -> None:
    counted = {**empty_state(), "sales": 3, "visitors": 0, "traffic_reports": 1}
    assert store_conversion_sales(counted) == 3
    assert store_conversion_sales({**counted, "traffic_reports": 0}) == 0
    # Store rows derive their numerator; a stale conv_sales in the state is ignored there.
    assert _row("store", sales=3, visitors=60, traffic_reports=2, conv_sales=99)["conversion_rate"] == Decimal("0.0500")
    assert _row("store", sales=3, visitors=0, traffic_reports=1)["conversion_rate"] is None
    # Above store level the numerator is the stores' sum, given in the state.
    assert _row("region", sales=9, visitors=60, traffic_reports=2, conv_sales=3)["conversion_rate"] == Decimal("0.0500")


def test_row_has_the_contract_fields_in_order_with_as_of_and_backlog() -> None:
    as_of = datetime(2026, 11, 26, 11, 5, 3, 120999, tzinfo=timezone(timedelta(hours=1)))
    row = kpi_row("store", "BER-1", "hour", "2026-11-26T10:00:00Z", empty_state(), as_of, backlog=(4, 1))
    assert tuple(row) == KPI_ROW_FIELDS
    assert (row["scope"], row["key"], row["grain"], row["window"]) == ("store", "BER-1", "hour", "2026-11-26T10:00:00Z")
    assert row["as_of"] == "2026-11-26T10:05:03.120Z"
    assert (row["open_backlog"], row["overdue_backlog"]) == (4, 1)
    assert kpi_row("store", "BER-1", "hour", "w", {}, datetime(2026, 11, 26, tzinfo=UTC))["as_of"] == (
        "2026-11-26T00:00:00Z"
    )
    assert _row()["open_backlog"] is None


@pytest.mark.parametrize(
    ("grain", "value", "expected"),
    [
        ("minute", datetime(2026, 11, 26, 10, 5, 59, 999999, tzinfo=UTC), "2026-11-26T10:05:00Z"),
        ("hour", datetime(2026, 11, 26, 10, 59, 59, tzinfo=UTC), "2026-11-26T10:00:00Z"),
        ("hour", datetime(2026, 11, 26, 0, 30, tzinfo=timezone(timedelta(hours=1))), "2026-11-25T23:00:00Z"),
        ("minute", datetime(2026, 11, 26, 10, 5, tzinfo=IST), "2026-11-26T04:35:00Z"),
        ("day", date(2026, 11, 26), "2026-11-26"),
    ],
)
def test_window_start(grain: str, value: date, expected: str) -> None:
    assert window_start(grain, value) == expected  # type: ignore[arg-type]


def test_window_start_refuses_ambiguous_input() -> None:
    with pytest.raises(TypeError, match="business date"):
        window_start("day", datetime(2026, 11, 26, tzinfo=UTC))
    with pytest.raises(TypeError, match="aware datetime"):
        window_start("minute", date(2026, 11, 26))
    with pytest.raises(ValueError, match="without offset"):
        window_start("hour", datetime(2026, 11, 26, 10))


def test_row_to_json_writes_decimals_as_numbers_with_their_exact_digits() -> None:
    row = _row(gross_cents=1050, sales=2, units=3)
    text = row_to_json(row)
    assert b'"gross_sales":10.50,' in text
    assert b'"aov":5.25,' in text
    assert b'"upt":1.5000,' in text
    assert b'"conversion_rate":null,' in text
    assert b'"as_of":null,' in text
    parsed = orjson.loads(text)
    assert list(parsed) == list(KPI_ROW_FIELDS)
    assert parsed["net_sales"] == 10.5


def test_row_to_json_refuses_what_it_cannot_write_exactly() -> None:
    with pytest.raises(orjson.JSONEncodeError):
        row_to_json({"x": Decimal("NaN")})
    with pytest.raises(orjson.JSONEncodeError):
        row_to_json({"x": object()})
