"""The KPI formulas of `docs/contracts.md`: one row of KPIs from one window's integer counters.

Every number in a row is derived here and nowhere else, so the engine, the CLI, the
live page and the recomputation oracle cannot disagree on a rounding.

Precision (docs/contracts.md is silent; chosen here, exact integer arithmetic throughout):
- money (`gross_sales`, `refunds`, `net_sales`) is exact: Decimal with 2 places;
- `aov` is rounded to the cent, half away from zero (net sales can be negative);
- `upt`, `refund_rate`, `conversion_rate`, `on_time_rate`, `cancellation_rate` are
  Decimals rounded to 4 places, half away from zero;
- `avg_cycle_time_s` is rounded to 3 places (whole milliseconds), half away from zero;
- every ratio is None when its denominator is 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

import orjson

from shared.kpis.state import Grain, Scope
from shared.money import cents_to_decimal

__all__ = [
    "KPI_ROW_FIELDS",
    "format_utc",
    "json_default",
    "kpi_row",
    "rounded_ratio",
    "row_to_json",
    "store_conversion_sales",
    "window_start",
]

KPI_ROW_FIELDS: Final[tuple[str, ...]] = (
    "scope",
    "key",
    "grain",
    "window",
    "as_of",
    "gross_sales",
    "refunds",
    "net_sales",
    "transactions",
    "voids",
    "units",
    "aov",
    "upt",
    "refund_rate",
    "conversion_rate",
    "visitors",
    "orders_placed",
    "orders_completed",
    "on_time_rate",
    "avg_cycle_time_s",
    "cancellations",
    "cancellation_rate",
    "open_backlog",
    "overdue_backlog",
)
"""The keys of a KPI row, in output order."""

RATIO_PLACES: Final = 4
CYCLE_TIME_PLACES: Final = 3
_MS_PER_S: Final = 1000
_CENTS_PER_UNIT: Final = 100


def rounded_ratio(numerator: int, denominator: int, places: int = 4) -> Decimal | None:
    """numerator / denominator as a Decimal rounded to `places` decimals, half away from zero; None on 0."""
    if denominator == 0:
        return None
    scaled = abs(numerator) * 10**places
    quotient, remainder = divmod(scaled, abs(denominator))
    if 2 * remainder >= abs(denominator):
        quotient += 1
    negative = (numerator < 0) != (denominator < 0)
    return Decimal(-quotient if negative else quotient).scaleb(-places)


def store_conversion_sales(state: Mapping[str, int]) -> int:
    """A store's conversion numerator in one window: its sales if it counted visitors there, else 0.

    A store "counted visitors" in a window when at least one footfall report fell in
    it (`traffic_reports > 0`), even a report of 0 visitors. Region, chain and channel
    numerators are the sum of this value over their stores at the same grain and window.
    """
    return state.get("sales", 0) if state.get("traffic_reports", 0) > 0 else 0


def format_utc(ts: datetime) -> str:
    """An aware datetime as RFC 3339 UTC: `2026-11-26T10:05:03Z`, or `...03.120Z` with a fraction.

    Sub-second precision is kept to the millisecond (truncated), and only when non-zero.
    """
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"timestamp without offset: {ts.isoformat()}")
    utc = ts.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    millis = utc.microsecond // 1000
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def window_start(grain: Grain, ts_or_date: datetime | date) -> str:
    """The `window` of a row: the UTC minute or hour start of an instant, or a business date.

    `minute` / `hour` need an aware datetime (floored in UTC); `day` needs the store-local
    business `date` (a datetime is refused: its UTC date is not the store's day).
    """
    if grain == "day":
        if isinstance(ts_or_date, datetime):
            raise TypeError("the day window is a store-local business date, not a datetime")
        return ts_or_date.isoformat()
    if not isinstance(ts_or_date, datetime):
        raise TypeError(f"the {grain} window needs an aware datetime")
    if ts_or_date.tzinfo is None or ts_or_date.utcoffset() is None:
        raise ValueError(f"timestamp without offset: {ts_or_date.isoformat()}")
    utc = ts_or_date.astimezone(UTC)
    floored = utc.replace(second=0, microsecond=0)
    if grain == "hour":
        floored = floored.replace(minute=0)
    elif grain != "minute":
        raise ValueError(f"unknown grain {grain!r}")
    return format_utc(floored)


def kpi_row(
    scope: Scope,
    key: str,
    grain: Grain,
    window: str,
    state: Mapping[str, int],
    as_of: datetime | None,
    backlog: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The KPI row of one (scope, key, grain, window) from its integer counters.

    At `store` scope the conversion numerator is `store_conversion_sales(state)`; above
    it, `state["conv_sales"]` must already be the sum over the stores. `backlog` is
    (open, overdue) as of now; both are None when it is not given. Missing counters are 0.
    """

    def count(name: str) -> int:
        return state.get(name, 0)

    sales = count("sales")
    gross = count("gross_cents")
    refund = count("refund_cents")
    net = gross - refund
    conv_sales = store_conversion_sales(state) if scope == "store" else count("conv_sales")
    completed = count("completed")
    placed = count("placed")
    return {
        "scope": scope,
        "key": key,
        "grain": grain,
        "window": window,
        "as_of": None if as_of is None else format_utc(as_of),
        "gross_sales": cents_to_decimal(gross),
        "refunds": cents_to_decimal(refund),
        "net_sales": cents_to_decimal(net),
        "transactions": sales,
        "voids": count("voids"),
        "units": count("units"),
        "aov": rounded_ratio(net, sales * _CENTS_PER_UNIT, 2),
        "upt": rounded_ratio(count("units"), sales, RATIO_PLACES),
        "refund_rate": rounded_ratio(count("refunds"), sales, RATIO_PLACES),
        "conversion_rate": rounded_ratio(conv_sales, count("visitors"), RATIO_PLACES),
        "visitors": count("visitors"),
        "orders_placed": placed,
        "orders_completed": completed,
        "on_time_rate": rounded_ratio(count("on_time"), completed, RATIO_PLACES),
        "avg_cycle_time_s": rounded_ratio(count("cycle_ms"), completed * _MS_PER_S, CYCLE_TIME_PLACES),
        "cancellations": count("cancelled"),
        "cancellation_rate": rounded_ratio(count("cancelled"), placed, RATIO_PLACES),
        "open_backlog": None if backlog is None else backlog[0],
        "overdue_backlog": None if backlog is None else backlog[1],
    }


def json_default(value: object) -> object:
    """orjson `default`: a Decimal becomes a JSON number with exactly its digits (`12.30`, not 12.3)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError(f"not a finite number: {value}")
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def row_to_json(row: Mapping[str, Any]) -> bytes:
    """One KPI row as compact JSON (UTF-8), Decimals as exact JSON numbers, None as null."""
    return orjson.dumps(dict(row), default=json_default)
