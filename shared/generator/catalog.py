"""The sellable product range: popularity, local shelf prices and ready-made lines."""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any, Final

from shared.reference import Product, ReferenceData

__all__ = ["Catalog", "CatalogView", "local_price_cents"]

TABLE_BITS: Final = 16
"""Popularity is sampled from a 65,536-slot table: one getrandbits call per line."""


def local_price_cents(eur: Decimal, rate: Decimal | None, currency: str, reporting: str) -> int:
    """Shelf price in `currency` of a EUR list price, at psychological price points.

    Retailers set local price lists, they do not reprice daily with FX: the price is
    the list price converted once and rounded to an ending such as 17.99 or 219.
    """
    if currency == reporting or rate is None:
        return int(eur * 100)
    value = float(eur / rate)
    if value >= 100:
        return max(int(round(value / 10) * 10 - 1), 1) * 100
    if value >= 10:
        return int(value) * 100 + 99
    return int(value * 2) * 50 + 49


class CatalogView:
    """The products valid over one stretch of time, ready for fast sampling."""

    __slots__ = ("cents", "ids", "lines", "table")

    def __init__(self, ids: list[str], weights: list[float], cents: dict[str, list[int]]) -> None:
        self.ids = ids
        self.cents = cents
        # One shared, never-mutated line dict per (currency, product) for quantity 1.
        self.lines: dict[str, list[dict[str, Any]]] = {
            currency: [
                {"product_id": pid, "quantity": 1, "unit_price": c / 100} for pid, c in zip(ids, prices, strict=True)
            ]
            for currency, prices in cents.items()
        }
        cumulative: list[float] = []
        total = 0.0
        for w in weights:
            total += w
            cumulative.append(total)
        size = 1 << TABLE_BITS
        last = len(ids) - 1
        self.table = [min(bisect_right(cumulative, (i + 0.5) / size * total), last) for i in range(size)]


class Catalog:
    """All products with a popularity and local prices; `at(ms)` gives the range valid then.

    The view is rebuilt only when a product's validity starts or ends (SCD2
    boundaries), so lookups on the hot path are plain list indexing.
    """

    def __init__(self, reference: ReferenceData, currencies: Iterable[str], price_day: date, seed: int) -> None:
        products = reference.products
        keys = sorted(products.keys())
        rng = random.Random(f"{seed}/catalog")
        ranks = list(range(len(keys)))
        rng.shuffle(ranks)
        reporting = reference.reporting_currency
        self._currencies = sorted(set(currencies) | {reporting})
        self._entries: list[tuple[str, float, dict[str, int], list[Product]]] = []
        boundaries: set[int] = set()
        for key, rank in zip(keys, ranks, strict=True):
            versions = list(products.versions(key))
            eur = next((v.list_price for v in reversed(versions) if v.list_price is not None), None)
            if eur is None:  # no list price in the user's data: a stable made-up one
                own = random.Random(f"{seed}/price/{key}")
                eur = Decimal(int(math.exp(own.uniform(math.log(3), math.log(80))))) + Decimal("0.99")
            if eur <= 0:
                continue
            cents = {
                c: local_price_cents(eur, reference.fx.rate(c, price_day) or _earliest(reference, c), c, reporting)
                for c in self._currencies
            }
            # Long-tail popularity, cheaper items sell more often.
            weight = (rank + 8) ** -0.75 * (25 / (float(eur) + 25)) ** 0.9
            self._entries.append((key, weight, cents, versions))
            for v in versions:
                boundaries.add(_ms(v.valid_from))
                if v.valid_to is not None:
                    boundaries.add(_ms(v.valid_to))
        self._boundaries = sorted(boundaries)
        self._view: CatalogView | None = None
        self._segment = -2

    def at(self, epoch_ms: int) -> CatalogView:
        """The products with a version valid at `epoch_ms` (cached between SCD2 boundaries)."""
        segment = bisect_right(self._boundaries, epoch_ms)
        if segment != self._segment or self._view is None:
            self._view = self._build(epoch_ms)
            self._segment = segment
        return self._view

    def _build(self, epoch_ms: int) -> CatalogView:
        ids: list[str] = []
        weights: list[float] = []
        cents: dict[str, list[int]] = {c: [] for c in self._currencies}
        for key, weight, prices, versions in self._entries:
            if any(
                _ms(v.valid_from) <= epoch_ms and (v.valid_to is None or epoch_ms < _ms(v.valid_to)) for v in versions
            ):
                ids.append(key)
                weights.append(weight)
                for c in self._currencies:
                    cents[c].append(prices[c])
        if not ids:
            raise ValueError("no product of the reference data is valid at the requested time")
        return CatalogView(ids, weights, cents)


def _earliest(reference: ReferenceData, currency: str) -> Decimal | None:
    first = reference.fx.first_date(currency)
    return reference.fx.rate(currency, first) if first is not None else None


def _ms(ts: Any) -> int:
    return int(ts.timestamp() * 1000)
