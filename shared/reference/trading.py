"""Which stores trade now, when the next ones open, and where the chain's business day begins.

Used by the live page ("every store is closed: DE_NORTH opens 09:30 ...") and by
`pulse demo` (the fast-forward of the current business day, the daytime hint). A
store with opening hours is a *physical* store; web and app shops (no hours) trade
around the clock and are never "closed".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.reference.loader import ReferenceData
from shared.reference.models import Store

__all__ = [
    "NextOpening",
    "TradingStatus",
    "business_day_start",
    "daytime_example",
    "next_opening",
    "trading_status",
]


@dataclass(frozen=True, slots=True)
class NextOpening:
    """When a region's first store opens next (UTC), and the local wall time of that moment."""

    region: str
    at: datetime
    local: datetime


@dataclass(frozen=True, slots=True)
class TradingStatus:
    """Physical stores open at a moment; per region with none open, its next opening."""

    open_stores: int
    physical_stores: int
    next_openings: tuple[NextOpening, ...]
    """Regions whose physical stores are all closed, ordered by opening time."""

    @property
    def all_closed(self) -> bool:
        return self.physical_stores > 0 and self.open_stores == 0


def _current(reference: ReferenceData, now: datetime) -> list[Store]:
    store_ids = reference.stores.keys()  # a Dimension is not iterable
    stores = (reference.stores.as_of(key, now) for key in store_ids)
    return [s for s in stores if s is not None]


def next_opening(store: Store, now: datetime) -> datetime | None:
    """The next moment after `now` the store opens (UTC); None for a 24-hour store or one that never opens."""
    if store.is_24h:
        return None
    local_now = now.astimezone(store.zone)
    for days in range(8):
        day = local_now.date() + timedelta(days=days)
        hours = store.hours_on(day.weekday())
        if hours is None:
            continue
        opens = datetime.combine(day, hours[0], store.zone)
        if opens > local_now:
            return opens.astimezone(UTC)
    return None


def trading_status(reference: ReferenceData, now: datetime) -> TradingStatus:
    """How many physical stores trade at `now`, and the next opening of each region that has none open."""
    physical = [s for s in _current(reference, now) if not s.is_24h]
    open_regions = {s.region for s in physical if s.is_open_at(now)}
    firsts: dict[str, tuple[datetime, Store]] = {}
    for store in physical:
        at = next_opening(store, now)
        if store.region in open_regions or at is None:
            continue
        if store.region not in firsts or at < firsts[store.region][0]:
            firsts[store.region] = (at, store)
    openings = sorted(
        (NextOpening(region, at, at.astimezone(store.zone)) for region, (at, store) in firsts.items()),
        key=lambda o: (o.at, o.region),
    )
    return TradingStatus(sum(1 for s in physical if s.is_open_at(now)), len(physical), tuple(openings))


def business_day_start(reference: ReferenceData, now: datetime) -> datetime:
    """The earliest local midnight (UTC) of the current business date among the current stores' zones."""
    zones = {s.zone for s in _current(reference, now)} or {ZoneInfo("UTC")}
    midnights = [datetime.combine(now.astimezone(z).date(), datetime.min.time(), z) for z in zones]
    return min(m.astimezone(UTC) for m in midnights)


def daytime_example(reference: ReferenceData, now: datetime, local_hour: int = 11) -> datetime:
    """The latest past `local_hour`:00 (in the most common store zone) at which physical stores traded."""
    stores = [s for s in _current(reference, now) if not s.is_24h]
    if not stores:
        return now
    zone = Counter(s.timezone for s in stores).most_common(1)[0][0]
    local_now = now.astimezone(ZoneInfo(zone))
    for days in range(8):
        day = local_now.date() - timedelta(days=days)
        candidate = datetime.combine(day, time(local_hour), ZoneInfo(zone)).astimezone(UTC)
        if candidate < now and any(s.is_open_at(candidate) for s in stores):
            return candidate
    return now
