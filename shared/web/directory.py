"""Who is where, as of now: stores, their regions and time zones, and each scope's current business date.

"Today" on the live page is store-local (docs/contracts.md: a store's day is its local
business date). A region's or the chain's day D is the sum of its stores' days D;
which D is "today" for them is taken in their *reference time zone*: the zone most of
their current stores use (ties: the alphabetically first zone). A store that is not
in the reference data is attributed by the pipeline to region ``UNASSIGNED`` with
UTC business dates, so those use UTC here too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from shared.reference import ReferenceData

__all__ = ["Directory", "StoreInfo"]

_UNASSIGNED_ZONE: Final = "UTC"
"""The zone the pipeline gives a store missing in the reference data (`shared.pipeline.enrichment`)."""


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """One store as of now."""

    store_id: str
    name: str
    region: str
    channel: str
    timezone: str


@dataclass(frozen=True, slots=True)
class Directory:
    """The current stores, and the reference time zone of every region and of the chain."""

    stores: tuple[StoreInfo, ...]
    """Current stores, ordered by id."""
    region_zones: dict[str, str]
    chain_zone: str

    @classmethod
    def from_reference(cls, reference: ReferenceData, now: datetime) -> Directory:
        """The stores valid at `now` (closed stores and not-yet-opened ones are left out)."""
        current = []
        store_ids = reference.stores.keys()  # a Dimension is not iterable
        for store_id in store_ids:
            store = reference.stores.as_of(store_id, now)
            if store is not None:
                current.append(StoreInfo(store_id, store.name, store.region, store.channel, store.timezone))
        stores = tuple(sorted(current, key=lambda s: s.store_id))
        by_region: dict[str, list[str]] = {}
        for info in stores:
            by_region.setdefault(info.region, []).append(info.timezone)
        regions = {region: _most_common(zones) for region, zones in by_region.items()}
        return cls(stores, regions, _most_common(s.timezone for s in stores))

    @property
    def regions(self) -> list[str]:
        """Regions with at least one current store, sorted."""
        return sorted(self.region_zones)

    def store(self, store_id: str) -> StoreInfo | None:
        """The current store `store_id`, or None."""
        return next((s for s in self.stores if s.store_id == store_id), None)

    def stores_in(self, region: str) -> list[StoreInfo]:
        """The current stores of `region`, ordered by id."""
        return [s for s in self.stores if s.region == region]

    def zone_of(self, scope: str, key: str) -> str:
        """The reference time zone of a chain, region or store member."""
        if scope == "store":
            info = self.store(key)
            return info.timezone if info is not None else _UNASSIGNED_ZONE
        if scope == "region":
            return self.region_zones.get(key, _UNASSIGNED_ZONE)
        return self.chain_zone

    def business_date(self, scope: str, key: str, now: datetime) -> str:
        """The member's current business date (``YYYY-MM-DD``) at `now`."""
        return now.astimezone(ZoneInfo(self.zone_of(scope, key))).date().isoformat()


def _most_common(zones: Iterable[str]) -> str:
    counts = Counter(zones)
    if not counts:
        return _UNASSIGNED_ZONE
    return min(counts, key=lambda zone: (-counts[zone], zone))
