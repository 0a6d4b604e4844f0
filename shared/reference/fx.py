"""Daily exchange rates into the reporting currency, looked up as of a date."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Final

__all__ = ["FxRates"]

_ONE: Final = Decimal(1)
_TICK: Final = Decimal("0.0001")
_CACHE_LIMIT: Final = 100_000


class FxRates:
    """Rates per currency and date: 1 unit of the currency = `rate` reporting units.

    `rate(currency, d)` is the latest rate on or before `d` (weekends and holidays
    reuse the last published rate); the reporting currency is always exactly 1.
    Lookups are memoised per (currency, date), which the ingest path repeats a lot.
    """

    __slots__ = ("_cache", "_dates", "_rates", "reporting_currency")

    def __init__(self, rates: Mapping[str, Iterable[tuple[date, Decimal]]], reporting_currency: str = "EUR") -> None:
        """`rates` maps a currency to its (date, rate) rows.

        A repeated date, or a rate that is not positive with at most 4 decimals, is a ValueError.
        """
        self.reporting_currency = reporting_currency
        self._dates: dict[str, list[int]] = {}
        self._rates: dict[str, list[Decimal]] = {}
        for currency, rows in rates.items():
            ordered = sorted(rows)
            for day, rate in ordered:
                if not rate.is_finite() or rate <= 0 or rate != rate.quantize(_TICK):
                    raise ValueError(
                        f"{currency} rate {rate} on {day.isoformat()}: must be positive, at most 4 decimals"
                    )
            ordinals = [d.toordinal() for d, _ in ordered]
            for a, b in pairwise(ordinals):
                if a == b:
                    raise ValueError(f"two {currency} rates for {date.fromordinal(a).isoformat()}")
            self._dates[currency] = ordinals
            self._rates[currency] = [r for _, r in ordered]
        self._cache: dict[tuple[str, date], Decimal | None] = {}

    def rate(self, currency: str, d: date) -> Decimal | None:
        """The rate of `currency` on `d` (latest on or before), or None when there is none."""
        key = (currency, d)
        try:
            return self._cache[key]
        except KeyError:
            pass
        found = self._lookup(currency, d)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = found
        return found

    def _lookup(self, currency: str, d: date) -> Decimal | None:
        if currency == self.reporting_currency:
            return _ONE
        ordinals = self._dates.get(currency)
        if ordinals is None:
            return None
        index = bisect_right(ordinals, d.toordinal()) - 1
        return self._rates[currency][index] if index >= 0 else None

    def currencies(self) -> list[str]:
        """The currencies with at least one rate (the reporting currency excluded)."""
        return list(self._dates)

    def first_date(self, currency: str) -> date | None:
        """The earliest date with a rate for `currency`."""
        ordinals = self._dates.get(currency)
        return date.fromordinal(ordinals[0]) if ordinals else None

    def last_date(self, currency: str) -> date | None:
        """The latest date with a rate for `currency`."""
        ordinals = self._dates.get(currency)
        return date.fromordinal(ordinals[-1]) if ordinals else None

    def __len__(self) -> int:
        """The number of (currency, date) rows."""
        return sum(len(v) for v in self._dates.values())
