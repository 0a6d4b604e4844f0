"""The oracle's own reading of the reference CSV files: stores as of a time, FX rate of a UTC date.

Plain `csv` and `Decimal`, written from contracts.md ("Reference data"); nothing of
`shared.reference` is used, so a loader bug cannot cancel out against itself.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

__all__ = ["OracleReference", "StoreVersion", "load"]

REPORTING_CURRENCY = "EUR"


@dataclass(frozen=True)
class StoreVersion:
    store_id: str
    region: str
    timezone: str
    channel: str
    valid_from: datetime
    valid_to: datetime | None


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"reference timestamp without offset: {text}")
    return value


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def _channel(row: dict[str, str]) -> str:
    """The `channel` column, or by id when it is absent or empty (WEB -> web, APP -> app, else store)."""
    given = row.get("channel", "")
    if given:
        return given
    return {"WEB": "web", "APP": "app"}.get(row["store_id"], "store")


@dataclass
class OracleReference:
    stores: dict[str, list[StoreVersion]]
    rates: dict[str, list[tuple[date, Decimal]]]

    def store(self, store_id: str, at: datetime) -> StoreVersion | None:
        """The version with valid_from <= at < valid_to (valid_to empty = current), else None."""
        for version in self.stores.get(store_id, []):
            if version.valid_from <= at and (version.valid_to is None or at < version.valid_to):
                return version
        return None

    def rate(self, currency: str, on: date) -> Decimal | None:
        """The latest rate on or before `on` (1 for the reporting currency), else None."""
        if currency == REPORTING_CURRENCY:
            return Decimal(1)
        best: tuple[date, Decimal] | None = None
        for day, rate in self.rates.get(currency, []):
            if day <= on and (best is None or day > best[0]):
                best = (day, rate)
        return None if best is None else best[1]


def load(folder: Path) -> OracleReference:
    """stores.csv and fx_rates.csv of `folder` (products do not change any KPI value)."""
    stores: dict[str, list[StoreVersion]] = {}
    for row in _rows(folder / "stores.csv"):
        valid_to = _instant(row["valid_to"]) if row["valid_to"] else None
        version = StoreVersion(
            row["store_id"], row["region"], row["timezone"], _channel(row), _instant(row["valid_from"]), valid_to
        )
        stores.setdefault(row["store_id"], []).append(version)
    rates: dict[str, list[tuple[date, Decimal]]] = {}
    for row in _rows(folder / "fx_rates.csv"):
        rates.setdefault(row["currency"], []).append((date.fromisoformat(row["date"]), Decimal(row["rate"])))
    return OracleReference(stores, rates)
