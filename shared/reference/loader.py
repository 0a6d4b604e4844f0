"""Load the reference CSV folder (stores, products, FX) into a `ReferenceData`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Final, TypeVar

from shared.reference._csv import Cell, Row, read_rows
from shared.reference.dimension import Dimension, OverlappingVersionsError, Versioned
from shared.reference.errors import ReferenceDataError
from shared.reference.fx import FxRates
from shared.reference.iso4217 import ISO_4217
from shared.reference.models import Channel, Product, Store
from shared.reference.targets import Targets, read_targets

__all__ = [
    "FX_COLUMNS",
    "PRODUCT_COLUMNS",
    "PRODUCT_OPTIONAL_COLUMNS",
    "STORE_COLUMNS",
    "STORE_OPTIONAL_COLUMNS",
    "ReferenceData",
    "demo_reference_dir",
    "load_reference",
]

STORE_COLUMNS: Final = ("store_id", "name", "region", "country", "timezone", "valid_from", "valid_to")
STORE_OPTIONAL_COLUMNS: Final = ("currency", "opens", "closes", "sunday_hours", "channel", "city", "size_sqm")
PRODUCT_COLUMNS: Final = ("product_id", "name", "category", "department", "valid_from", "valid_to")
PRODUCT_OPTIONAL_COLUMNS: Final = ("list_price",)
FX_COLUMNS: Final = ("date", "currency", "rate")

STORES_FILE: Final = "stores.csv"
PRODUCTS_FILE: Final = "products.csv"
FX_FILE: Final = "fx_rates.csv"

MONEY_PLACES: Final = 2
RATE_PLACES: Final = 4
MAX_RATE: Final = 1_000_000
"""No currency is worth a million units of another: larger rates are typing errors."""
_CHANNELS: Final[tuple[Channel, ...]] = ("store", "web", "app")
_ONLINE_CHANNEL: Final[dict[str, Channel]] = {"WEB": "web", "APP": "app"}

M = TypeVar("M", bound=Versioned)


@dataclass(frozen=True, slots=True)
class ReferenceData:
    """The dimensions an event is enriched with, as of its event time."""

    stores: Dimension[Store]
    products: Dimension[Product]
    fx: FxRates
    reporting_currency: str = "EUR"
    targets: Targets = field(default_factory=dict)
    """Daily targets per (scope, key, kpi) from the optional ``targets.csv`` (`shared.reference.targets`)."""


def demo_reference_dir() -> Path:
    """The demo set shipped with the package (regenerate: ``python -m shared.reference.build_demo``)."""
    return Path(__file__).with_name("demo")


def load_reference(folder: Path, reporting_currency: str = "EUR") -> ReferenceData:
    """Read `stores.csv`, `products.csv` and `fx_rates.csv` from `folder`.

    Raises `ReferenceDataError` naming the file, line and column of the first problem.
    """
    if len(reporting_currency) != 3 or not reporting_currency.isupper() or not reporting_currency.isalpha():
        raise ValueError(f"reporting currency must be an ISO 4217 code, got {reporting_currency!r}")
    folder = Path(folder)
    stores = _dimension(STORES_FILE, _read_versions(folder, STORES_FILE, STORE_COLUMNS, _store), _store_key)
    products = _dimension(PRODUCTS_FILE, _read_versions(folder, PRODUCTS_FILE, PRODUCT_COLUMNS, _product), _product_key)
    fx = _read_fx(folder, reporting_currency)
    targets = read_targets(folder)
    return ReferenceData(
        stores=stores, products=products, fx=fx, reporting_currency=reporting_currency, targets=targets
    )


def _store_key(store: Store) -> str:
    return store.store_id


def _product_key(product: Product) -> str:
    return product.product_id


def _read_versions(
    folder: Path, file: str, required: tuple[str, ...], build: Callable[[Row], M]
) -> list[tuple[int, M]]:
    members = []
    for line, row in read_rows(folder, file, required):
        member = build(row)
        if member.valid_to is not None and member.valid_to <= member.valid_from:
            raise row["valid_to"].error("valid_to must be after valid_from")
        members.append((line, member))
    return members


def _dimension(file: str, rows: list[tuple[int, M]], key: Callable[[M], str]) -> Dimension[M]:
    lines = {id(member): line for line, member in rows}
    try:
        return Dimension((member for _, member in rows), key)
    except OverlappingVersionsError as exc:
        first, second = sorted((lines[id(exc.earlier)], lines[id(exc.later)]))
        raise ReferenceDataError(
            file, f"version of {exc.key!r} overlaps the one on line {first}", second, "valid_from"
        ) from None


def _optional(row: Row, column: str) -> Cell | None:
    cell = row.get(column)
    return cell if cell is not None and cell.value else None


def _store(row: Row) -> Store:
    store_id = row["store_id"].text()
    opens_cell, closes_cell = _optional(row, "opens"), _optional(row, "closes")
    if (opens_cell is None) != (closes_cell is None):
        missing = row["closes"] if closes_cell is None else row["opens"]
        raise missing.error("opens and closes go together (both empty means open 24 hours)")
    opens = opens_cell.time_of_day() if opens_cell else None
    closes = closes_cell.time_of_day() if closes_cell else None
    if opens is not None and closes is not None and closes <= opens:
        raise row["closes"].error("closing time must be after opening time")
    sunday_opens, sunday_closes, closed_on_sunday = _sunday(_optional(row, "sunday_hours"))
    channel_cell = _optional(row, "channel")
    channel = channel_cell.choice(_CHANNELS) if channel_cell else _ONLINE_CHANNEL.get(store_id, "store")
    currency_cell = _optional(row, "currency")
    city_cell = _optional(row, "city")
    size_cell = _optional(row, "size_sqm")
    return Store(
        store_id=store_id,
        name=row["name"].text(),
        region=row["region"].text(),
        country=row["country"].country(),
        timezone=row["timezone"].time_zone(),
        valid_from=row["valid_from"].timestamp(),
        valid_to=row["valid_to"].optional_timestamp(),
        currency=currency_cell.currency() if currency_cell else None,
        opens=opens,
        closes=closes,
        sunday_opens=sunday_opens,
        sunday_closes=sunday_closes,
        closed_on_sunday=closed_on_sunday,
        channel=channel,  # type: ignore[arg-type]
        city=city_cell.text() if city_cell else None,
        size_sqm=size_cell.positive_int() if size_cell else None,
    )


def _sunday(cell: Cell | None) -> tuple[time | None, time | None, bool]:
    """`sunday_hours`: empty (as other days), ``closed``, or ``HH:MM-HH:MM``."""
    if cell is None:
        return None, None, False
    if cell.value == "closed":
        return None, None, True
    parts = cell.value.split("-")
    if len(parts) != 2:
        raise cell.error(f"expected 'closed' or HH:MM-HH:MM, got {cell.value!r}")
    opens = Cell(cell.file, cell.line, cell.column, parts[0].strip()).time_of_day()
    closes = Cell(cell.file, cell.line, cell.column, parts[1].strip()).time_of_day()
    if closes <= opens:
        raise cell.error("closing time must be after opening time")
    return opens, closes, False


def _product(row: Row) -> Product:
    price_cell = _optional(row, "list_price")
    return Product(
        product_id=row["product_id"].text(),
        name=row["name"].text(),
        category=row["category"].text(),
        department=row["department"].text(),
        valid_from=row["valid_from"].timestamp(),
        valid_to=row["valid_to"].optional_timestamp(),
        list_price=price_cell.decimal(MONEY_PLACES) if price_cell else None,
    )


def _read_fx(folder: Path, reporting_currency: str) -> FxRates:
    rates: dict[str, list[tuple[date, Decimal]]] = {}
    seen: dict[tuple[str, date], int] = {}
    for line, row in read_rows(folder, FX_FILE, FX_COLUMNS):
        day = row["date"].date()
        currency = row["currency"].currency()
        if currency not in ISO_4217:
            raise row["currency"].error(f"{currency} is not an ISO 4217 currency code")
        rate = row["rate"].decimal(RATE_PLACES, positive=True)
        if rate > MAX_RATE:
            raise row["rate"].error(f"a rate above {MAX_RATE:,} is not plausible, got {rate}")
        first = seen.setdefault((currency, day), line)
        if first != line:
            raise row["date"].error(f"second {currency} rate for {day.isoformat()} (first on line {first})")
        if currency == reporting_currency:
            if rate != 1:
                raise row["rate"].error(f"the reporting currency {currency} has rate 1, got {rate}")
            continue
        rates.setdefault(currency, []).append((day, rate))
    return FxRates(rates, reporting_currency)
