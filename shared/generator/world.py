"""The simulated chain: which stores trade when, how busy they are, and their prices.

Everything here is a pure function of (reference data, seed, scale, time), so every
source sees the same world: the traffic source counts the visitors the txn source
converts, and an online order's sale and its lifecycle come from the same draw.
Randomness is keyed by (seed, tag, hour) rather than drawn in sequence, so an hour
looks the same whichever sources are generated and wherever the stream starts.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from shared.generator._time import MINUTE_MS, TimestampFormatter
from shared.generator.catalog import Catalog, CatalogView
from shared.generator.curves import MONTH_FACTOR, ONLINE_INTRADAY, ONLINE_WEEKDAY, STORE_INTRADAY, STORE_WEEKDAY
from shared.reference import ReferenceData, Store

__all__ = ["StoreProfile", "World"]

_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
VISITORS_PER_SQM_DAY: Final = 0.9
"""A 2,000 m² store sees about 1,800 visitors on an ordinary weekday."""
ONLINE_SESSIONS_PER_MINUTE: Final = {"web": 30.0, "app": 17.0}
ONLINE_CONVERSION: Final = {"web": 0.028, "app": 0.042}
STORE_CONVERSION: Final = (0.20, 0.27)
"""Range of a store's base conversion (transactions / visitors); days vary around it."""
CONVERSION_BOUNDS: Final = (0.17, 0.31)
_CLOSED: Final = (0.0, 0.0)
DEFAULT_STORE_HOURS: Final = (9 * 60, 20 * 60)
"""Opening hours assumed for a physical store whose reference row has none."""


@dataclass(frozen=True, slots=True)
class StoreProfile:
    """What the simulation needs of one store version."""

    store: Store
    store_id: str
    channel: str
    country: str
    currency: str
    zone: ZoneInfo
    hours: tuple[tuple[int, int] | None, ...]
    """Per local weekday (Monday first): open and close as minutes of the day, or None."""
    always_open: bool
    base_per_minute: float
    conversion: float
    intraday: list[float]
    weekday: tuple[float, ...]
    source_system: str
    sensor_id: str
    weight: float
    """Relative size: picks the store for click & collect and ship-from-store."""
    closing_ms: int | None
    """When the store closes for good (end of its last version), if planned."""


class World:
    """The shared, deterministic model behind all seven sources."""

    def __init__(self, reference: ReferenceData, seed: int, scale: float, start_ms: int) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.reference = reference
        self.seed = seed
        self.scale = scale
        self.fmt = TimestampFormatter()
        self.reporting_currency = reference.reporting_currency
        self._profiles: dict[int, StoreProfile] = {}
        self._active: tuple[int, list[StoreProfile]] = (-1, [])
        self._lambdas: dict[tuple[str, int], list[tuple[float, float]]] = {}
        self._days: dict[tuple[str, int], tuple[float, float]] = {}
        self._intervals: dict[tuple[str, int], tuple[int, int] | None] = {}
        self._store_ids = reference.stores.keys()
        physical = [s for s in reference.stores.members() if s.channel == "store"]
        by_country: dict[str, Counter[str]] = {}
        for s in physical:
            by_country.setdefault(s.country, Counter())[s.currency or self.reporting_currency] += 1
        self.country_currency = {c: counts.most_common(1)[0][0] for c, counts in sorted(by_country.items())}
        """The currency customers of a country pay in (the one most of its stores take)."""
        counts = Counter(s.country for s in physical)
        self.country_weights = [(c, counts[c] / len(physical)) for c in sorted(counts)] if physical else []
        currencies = {s.currency or self.reporting_currency for s in reference.stores.members()}
        price_day = datetime.fromtimestamp(start_ms / 1000, UTC).date()
        self.catalog = Catalog(reference, currencies, price_day, seed)

    def rng(self, tag: str, hour_ms: int) -> random.Random:
        """The random stream of `tag` for one hour (independent of every other hour)."""
        return random.Random(f"{self.seed}/{tag}/{hour_ms}")

    def products(self, epoch_ms: int) -> CatalogView:
        return self.catalog.at(epoch_ms)

    def stores_at(self, hour_ms: int) -> list[StoreProfile]:
        """Store versions valid at the start of the hour, in reference order."""
        if self._active[0] == hour_ms:
            return self._active[1]
        when = datetime.fromtimestamp(hour_ms / 1000, UTC)
        active = []
        for store_id in self._store_ids:
            store = self.reference.stores.as_of(store_id, when)
            if store is not None:
                active.append(self._profile(store))
        self._active = (hour_ms, active)
        return active

    def _profile(self, store: Store) -> StoreProfile:
        cached = self._profiles.get(id(store))
        if cached is not None:
            return cached
        own = random.Random(f"{self.seed}/store/{store.store_id}")
        online = store.channel != "store"
        hours = tuple(_minutes(store.hours_on(wd)) for wd in range(7))
        if not online and store.is_24h:  # a shop without hours in the data: assume a plain trading day
            hours = (DEFAULT_STORE_HOURS,) * 7
        if online:
            base = ONLINE_SESSIONS_PER_MINUTE[store.channel] * own.uniform(0.9, 1.1)
            conversion = ONLINE_CONVERSION[store.channel]
            system = f"ecom-{store.channel}"
            sensor = f"{store.channel}-analytics"
        else:
            open_minutes = sum(h[1] - h[0] for h in hours[:5] if h) / 5 or 600
            base = (store.size_sqm or 2000) * VISITORS_PER_SQM_DAY / open_minutes * own.uniform(0.85, 1.15)
            conversion = own.uniform(*STORE_CONVERSION)
            system = f"pos-{store.country.lower()}-1"
            sensor = f"door-{store.store_id}-1"
        profile = StoreProfile(
            store=store,
            store_id=store.store_id,
            channel=store.channel,
            country=store.country,
            currency=store.currency or self.reporting_currency,
            zone=store.zone,
            hours=hours,
            always_open=online and store.is_24h,
            base_per_minute=base,
            conversion=conversion,
            intraday=ONLINE_INTRADAY if online else STORE_INTRADAY,
            weekday=ONLINE_WEEKDAY if online else STORE_WEEKDAY,
            source_system=system,
            sensor_id=sensor,
            weight=float(store.size_sqm or 2000),
            closing_ms=_closing_ms(self.reference.stores.versions(store.store_id)[-1]),
        )
        self._profiles[id(store)] = profile
        return profile

    def _day(self, profile: StoreProfile, local_day: int) -> tuple[float, float]:
        """(visitors per minute at curve 1, conversion) of a store on a local day."""
        key = (profile.store_id, local_day)
        found = self._days.get(key)
        if found is None:
            rng = random.Random(f"{self.seed}/day/{profile.store_id}/{local_day}")
            month = date.fromordinal(local_day + _EPOCH_ORDINAL).month
            weekday = (local_day + 3) % 7
            busy = math.exp(rng.gauss(0.0, 0.12))  # weather, local events
            level = profile.base_per_minute * profile.weekday[weekday] * MONTH_FACTOR[month - 1] * busy * self.scale
            conversion = profile.conversion * math.exp(rng.gauss(0.0, 0.07))
            if profile.channel == "store":
                conversion = min(max(conversion, CONVERSION_BOUNDS[0]), CONVERSION_BOUNDS[1])
            found = (level, conversion)
            if len(self._days) > 50_000:
                self._days.clear()
            self._days[key] = found
        return found

    def _offset_minutes(self, profile: StoreProfile, epoch_ms: int) -> int:
        offset = datetime.fromtimestamp(epoch_ms / 1000, profile.zone).utcoffset()
        return int(offset.total_seconds()) // 60 if offset else 0

    def lambdas(self, profile: StoreProfile, hour_ms: int) -> list[tuple[float, float]]:
        """Per minute of the hour: (expected visitors, conversion); (0, 0) while closed."""
        key = (profile.store_id, hour_ms)
        found = self._lambdas.get(key)
        if found is None:
            found = self._lambdas_of(profile, hour_ms)
            if len(self._lambdas) > 1_000:  # ~7 KB each: an hour of every store is 60; a day was 14 MiB
                self._lambdas.clear()
            self._lambdas[key] = found
        return found

    def _lambdas_of(self, profile: StoreProfile, hour_ms: int) -> list[tuple[float, float]]:
        offset = self._offset_minutes(profile, hour_ms)
        utc_minute = hour_ms // MINUTE_MS
        if offset != self._offset_minutes(profile, hour_ms + 59 * MINUTE_MS):
            # A DST change inside the hour: minute by minute.
            out = []
            for i in range(60):
                local = utc_minute + i + self._offset_minutes(profile, hour_ms + i * MINUTE_MS)
                out.extend(self._span(profile, local, 1))
            return out
        first = utc_minute + offset
        split = 1440 - first % 1440  # minutes left before local midnight
        if split >= 60:
            return self._span(profile, first, 60)
        return self._span(profile, first, split) + self._span(profile, first + split, 60 - split)

    def _span(self, profile: StoreProfile, local_minute: int, length: int) -> list[tuple[float, float]]:
        """`length` minutes from a local minute (epoch-based), all on one local day."""
        local_day, minute = divmod(local_minute, 1440)
        hours = profile.hours[(local_day + 3) % 7]
        if hours is None or hours[1] <= minute or minute + length <= hours[0]:
            return [_CLOSED] * length
        level, conversion = self._day(profile, local_day)
        opens = max(hours[0], minute)
        closes = min(hours[1], minute + length)
        curve = profile.intraday
        return (
            [_CLOSED] * (opens - minute)
            + [(level * curve[m], conversion) for m in range(opens, closes)]
            + [_CLOSED] * (minute + length - closes)
        )

    def open_interval(self, profile: StoreProfile, local_day: int) -> tuple[int, int] | None:
        """Epoch-ms (open, close) of the store on a local day, or None when closed."""
        key = (profile.store_id, local_day)
        if key in self._intervals:
            return self._intervals[key]
        hours = profile.hours[(local_day + 3) % 7]
        interval = None
        if hours is not None:
            day = date.fromordinal(local_day + _EPOCH_ORDINAL)
            interval = (_wall_clock_ms(day, hours[0], profile.zone), _wall_clock_ms(day, hours[1], profile.zone))
        self._intervals[key] = interval
        return interval

    def wall_clock_ms(self, profile: StoreProfile, local_day: int, minute: int) -> int:
        """Epoch ms of a local wall-clock minute on a local day of the store."""
        return _wall_clock_ms(date.fromordinal(local_day + _EPOCH_ORDINAL), minute, profile.zone)

    def local_day(self, profile: StoreProfile, epoch_ms: int) -> int:
        """Days since 1970-01-01 of the store's local date at `epoch_ms`."""
        return (epoch_ms // MINUTE_MS + self._offset_minutes(profile, epoch_ms)) // 1440

    def add_open_minutes(self, profile: StoreProfile, epoch_ms: int, minutes: float) -> int:
        """The instant after `minutes` of trading time from `epoch_ms` (skipping closed hours)."""
        remaining = int(minutes * MINUTE_MS)
        if profile.always_open:
            return epoch_ms + remaining
        t = epoch_ms
        day = self.local_day(profile, t)
        for _ in range(30):
            interval = self.open_interval(profile, day)
            day += 1
            if interval is None or interval[1] <= t:
                continue
            t = max(t, interval[0])
            if t + remaining <= interval[1]:
                return t + remaining
            remaining -= interval[1] - t
        return t + remaining  # a store closed for a month: fall back to calendar time

    def is_open(self, profile: StoreProfile, epoch_ms: int) -> bool:
        interval = self.open_interval(profile, self.local_day(profile, epoch_ms))
        return interval is not None and interval[0] <= epoch_ms < interval[1]


def _closing_ms(last: Store) -> int | None:
    return None if last.valid_to is None else int(last.valid_to.timestamp() * 1000)


def _wall_clock_ms(day: date, minute: int, zone: ZoneInfo) -> int:
    """Epoch ms of a local wall-clock minute of `day` (minute 1440 is the next midnight)."""
    if minute >= 1440:
        day = date.fromordinal(day.toordinal() + 1)
        minute -= 1440
    return int(datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone).timestamp() * 1000)


def _minutes(hours: tuple[object, object] | None) -> tuple[int, int] | None:
    """Local (opens, closes) as minutes of the day; 24 hours is (0, 1440)."""
    if hours is None:
        return None
    opens, closes = hours
    o = opens.hour * 60 + opens.minute  # type: ignore[attr-defined]
    c = closes.hour * 60 + closes.minute  # type: ignore[attr-defined]
    return (o, 1440) if c < o or (o == 0 and c == 23 * 60 + 59) else (o, c)
