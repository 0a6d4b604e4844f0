"""Dimension members: a store and a product, each one SCD type 2 version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

__all__ = ["Channel", "Product", "Store"]

Channel = Literal["store", "web", "app"]

SUNDAY = 6
"""`date.weekday()` of Sunday."""


@dataclass(frozen=True, slots=True)
class Store:
    """One version of a store (dim_merchant / dim_geo / dim_business_unit).

    The required attributes are the contract's columns; the rest are the optional
    columns of the demo set (see `shared/reference/README.md`).
    """

    store_id: str
    name: str
    region: str
    country: str
    """ISO 3166-1 alpha-2 (``EU`` for the pan-European online shops)."""
    timezone: str
    """IANA time zone name: the store's local business date is taken in it."""
    valid_from: datetime
    """Start of this version (UTC, inclusive)."""
    valid_to: datetime | None
    """End of this version (UTC, exclusive); None while current."""
    currency: str | None = None
    """The local tender currency (ISO 4217), when known."""
    opens: time | None = None
    """Local opening time; None with `closes` None means open 24 hours."""
    closes: time | None = None
    """Local closing time (after `opens`, same day)."""
    sunday_opens: time | None = None
    """Sunday hours when they differ from the other days."""
    sunday_closes: time | None = None
    closed_on_sunday: bool = False
    channel: Channel = "store"
    city: str | None = None
    size_sqm: int | None = None
    """Sales floor in square metres; the generator scales traffic by it."""

    @property
    def zone(self) -> ZoneInfo:
        """The store's time zone (ZoneInfo instances are cached by name)."""
        return ZoneInfo(self.timezone)

    @property
    def is_24h(self) -> bool:
        """True for a store without opening hours (web shop, app)."""
        return self.opens is None

    def hours_on(self, weekday: int) -> tuple[time, time] | None:
        """Local (opens, closes) on `weekday` (0 = Monday); None when closed all day.

        A 24-hour store returns ``(00:00, 23:59:59.999999)``.
        """
        if self.opens is None or self.closes is None:
            return (time.min, time.max)
        if weekday == SUNDAY:
            if self.closed_on_sunday:
                return None
            if self.sunday_opens is not None and self.sunday_closes is not None:
                return (self.sunday_opens, self.sunday_closes)
        return (self.opens, self.closes)

    def is_open_at(self, ts: datetime) -> bool:
        """Whether the store trades at `ts` (an aware datetime) in its local time."""
        if self.opens is None:
            return True
        local = ts.astimezone(self.zone)
        hours = self.hours_on(local.weekday())
        return hours is not None and hours[0] <= local.time() < hours[1]


@dataclass(frozen=True, slots=True)
class Product:
    """One version of a product (dim_product)."""

    product_id: str
    name: str
    category: str
    department: str
    valid_from: datetime
    """Start of this version (UTC, inclusive)."""
    valid_to: datetime | None
    """End of this version (UTC, exclusive); None while current."""
    list_price: Decimal | None = None
    """Recommended retail price in EUR (2 decimals), when known."""
