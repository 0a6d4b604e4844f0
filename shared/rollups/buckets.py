"""The hour of a region, channel or the chain, with its minutes inside it as buckets.

Above the store, a minute is not a document of its own: the member's hour document
keeps one bucket per minute (``buckets``: minute window -> the JSON text of
``[version, as_of, counters]``) beside the hour's counters (``segments``) and the
version of every store hour it holds (``stores``: store id -> version). A rollup page
writes a member's hour once, however many of its minutes changed, where it wrote
every changed minute and the hour before (docs/engine.md, "Minutes above the store").

A store hour keeps, in ``steps``, what each of its last few versions changed: the
version it came from, the hour's segments before, and the segments before of every
minute it replaced. From those and the store hour as it is now, a member takes the
exact change from the version it holds to the current one (`StoreHourChange.delta`),
so a late edge, a replayed page or two writers that raced on the store hour all add
each version's change once. When the steps do not reach back to the version the
member holds (an hour written by an earlier build, a store moved into the member
mid-hour, more versions in between than the steps keep), the member's hour is
re-summed from every store hour of that hour (`recomputed`), which is exact by
construction and only costs a read of the hour's store documents.

A member's minute counters are what the minute document held: for each store, its
part of the minute's segments (`member_part`: a region and a channel take their own
segments, with the conversion rule applied per region or channel part; the chain the
sum of the store's region parts, as the chain's minute summed its regions), summed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from shared.engine.bounds import MAX_STORED_INT
from shared.engine.documents import STATE_VERSION
from shared.kpis.state import CHAIN_KEY
from shared.rollups.keys import RollupKey
from shared.rollups.segments import ALL_SEGMENT, Segments, segment_parts, select, sum_counters, total, with_conversion
from shared.rollups.store_hours import minute_of_child, minute_segments
from shared.stores.port import Document

__all__ = [
    "BUCKETED_SCOPES",
    "MAX_STEP_MINUTES",
    "BucketEdge",
    "StoreHourChange",
    "bucket_edges",
    "member_part",
    "minute_docs",
    "next_bucket_version",
    "recomputed",
    "record_step",
]

BUCKETED_SCOPES: Final = frozenset({"region", "channel", "chain"})
"""Scopes whose minutes live as buckets of their hour document."""
MAX_STEPS: Final = 4
"""Versions of a store hour whose changes it keeps (`steps`): members that fell behind by more re-sum."""
MAX_STEP_MINUTES: Final = 8
"""Older steps are dropped once the kept ones name this many minutes (the newest step is always kept)."""

Counters = dict[str, int]
Member = tuple[str, str]
"""(scope, key) of a region, channel or the chain."""


def _pack(value: Any) -> str:
    return orjson.dumps(value).decode()


def record_step(existing: Mapping[str, Any] | None, old_minutes: Mapping[str, Segments]) -> str:
    """The store hour's `steps` after a new version that replaced the minutes `old_minutes` (their segments before)."""
    steps: list[Any] = orjson.loads(existing["steps"]) if existing and existing.get("steps") else []
    since = existing["v"] if existing else 0
    steps.append([since, existing["segments"] if existing else {}, dict(old_minutes)])
    kept: list[Any] = []
    named = 0
    for step in reversed(steps[-MAX_STEPS:]):
        named += len(step[2])
        if kept and named > MAX_STEP_MINUTES:
            break
        kept.append(step)
    kept.reverse()
    return _pack(kept)


def member_part(segments: Mapping[str, Mapping[str, int]], member: Member) -> Counters | None:
    """A store window's part of a region, channel or the chain (what their documents summed), or None if it feeds none.

    A region and a channel take their own segments, the conversion rule applied to that
    part; the chain the sum of the window's region parts, as the chain summed its regions.
    """
    scope, key = member
    if scope == "chain":
        regions = sorted({segment_parts(s)[0] for s in segments})
        return sum_counters(member_part(segments, ("region", r)) or {} for r in regions) if regions else None
    picked = select(segments, region=key) if scope == "region" else select(segments, channel=key)
    return with_conversion(total(picked)) if picked else None


def _members_of(segments: Iterable[str]) -> set[Member]:
    out: set[Member] = set()
    for segment in segments:
        region, channel, _ = segment_parts(segment)
        out.update((("region", region), ("channel", channel), ("chain", CHAIN_KEY)))
    return out


class StoreHourChange:
    """One version of a store hour and its kept steps, read once for every member it feeds.

    Parts are computed when a member asks for them, for that member only: a member one
    version behind (the usual case) reads the last step alone.
    """

    __slots__ = ("_children", "_now", "_steps", "as_of", "hour", "segments", "store", "version")

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.store: str = doc["key"]
        self.hour: str = doc["window"]
        self.version: int = doc["v"]
        self.as_of: str | None = doc.get("as_of")
        self.segments: Segments = doc["segments"]
        self._steps: list[tuple[int, Segments, dict[str, Segments]]] = (
            [(since, before, minutes) for since, before, minutes in orjson.loads(doc["steps"])]
            if doc.get("steps")
            else []
        )
        self._children: Mapping[str, Any] = doc.get("children", {})
        self._now: dict[str, tuple[Segments, str | None]] = {}

    def members(self) -> set[Member]:
        """Every member whose hour this version or a kept step touches."""
        out = _members_of(self.segments)
        for _, before, _ in self._steps:
            out |= _members_of(before)
        return out

    def _minute_now(self, minute: str) -> tuple[Segments, str | None]:
        if minute not in self._now:
            self._now[minute] = minute_segments(self._children, minute) or ({}, None)
        return self._now[minute]

    def delta(
        self, member: Member, held: int
    ) -> tuple[Counters, Counters, dict[str, tuple[Counters, Counters, str | None]]] | None:
        """(hour now, hour at `held`, {minute: (now, at `held`, stamp)}) of `member`.

        None when the kept steps do not reach back to `held`.
        """
        start = next((i for i, step in enumerate(self._steps) if step[0] == held), None)
        if start is None:
            return None
        minutes: dict[str, tuple[Counters, Counters, str | None]] = {}
        taken: set[str] = set()
        for _, _, before in self._steps[start:]:
            for minute, segments in before.items():
                if minute in taken:
                    continue  # the earliest step that replaced the minute knows its part at `held`
                taken.add(minute)
                now_segments, stamp = self._minute_now(minute)
                old, new = member_part(segments, member), member_part(now_segments, member)
                if old is None and new is None:
                    continue
                minutes[minute] = (new or {}, old or {}, stamp)
        hour_now = member_part(self.segments, member) or {}
        return hour_now, member_part(self._steps[start][1], member) or {}, minutes


@dataclass(frozen=True, slots=True)
class BucketEdge:
    """A store hour's current version, to be taken into one member's hour."""

    parent: RollupKey
    change: StoreHourChange


def bucket_edges(doc: Mapping[str, Any]) -> Iterator[BucketEdge]:
    """An edge to the hour of every region, channel and the chain that a store hour feeds."""
    change = StoreHourChange(doc)
    for scope, key in sorted(change.members()):
        yield BucketEdge(RollupKey(scope, key, "hour", change.hour), change)  # type: ignore[arg-type]


def _add(into: Counters, new: Mapping[str, int], old: Mapping[str, int]) -> bool:
    """`into += new - old`; False when only a re-sum gives the exact value (a sum at the stores' bound)."""
    for name in new.keys() | old.keys():
        current = into.get(name, 0)
        if current >= MAX_STORED_INT:
            return False
        value = current + new.get(name, 0) - old.get(name, 0)
        if value > MAX_STORED_INT:
            return False
        into[name] = value
    return True


def _later(a: str | None, b: str | None) -> str | None:
    return b if a is None or (b is not None and b > a) else a


HourStores = Callable[[], Sequence[Mapping[str, Any]]]
"""Every store hour of the member's hour (read only when a member must be re-summed)."""


def next_bucket_version(
    existing: Mapping[str, Any] | None, key: RollupKey, edges: Iterable[BucketEdge], hour_stores: HourStores
) -> Document | None:
    """The member's hour with every newer store-hour version in it, or None when each is already held."""
    if existing is not None and "buckets" not in existing:
        return recomputed(existing, key, hour_stores())  # written before buckets: its minutes were documents
    member: Member = (key.scope, key.key)
    version = (existing["v"] if existing else 0) + 1
    stores: dict[str, int] = dict(existing["stores"]) if existing else {}
    hour: Counters = dict(existing["segments"].get(ALL_SEGMENT, {})) if existing else {}
    buckets: dict[str, Any] = dict(existing["buckets"]) if existing else {}
    as_of: str | None = existing.get("as_of") if existing else None
    opened: dict[str, list[Any]] = {}
    dirty = False
    for edge in sorted(edges, key=lambda e: (e.change.store, e.change.version)):
        change = edge.change
        held = stores.get(change.store, 0)
        if held >= change.version:
            continue  # this version (or a newer one) of the store hour is already in
        delta = change.delta(member, held)
        if delta is None:
            return recomputed(existing, key, hour_stores())
        now, before, minutes = delta
        if not _add(hour, now, before):
            return recomputed(existing, key, hour_stores())
        for minute, (new, old, stamp) in minutes.items():
            bucket = opened.get(minute)
            if bucket is None:
                kept = buckets.get(minute)
                bucket = opened[minute] = orjson.loads(kept) if kept is not None else [0, None, {}]
            if not _add(bucket[2], new, old):
                return recomputed(existing, key, hour_stores())
            bucket[0], bucket[1] = version, _later(bucket[1], stamp)
        stores[change.store] = change.version
        as_of = _later(as_of, change.as_of)
        dirty = True
    if not dirty:
        return None
    for minute, bucket in opened.items():
        buckets[minute] = _pack(bucket)
    return _hour_doc(key, version, as_of, stores, hour, buckets)


def _hour_doc(
    key: RollupKey, version: int, as_of: str | None, stores: dict[str, int], hour: Counters, buckets: dict[str, Any]
) -> Document:
    return {
        **key.fields(),
        "state_version": STATE_VERSION,
        "v": version,
        "as_of": as_of,
        "stores": stores,
        "buckets": buckets,
        "segments": {ALL_SEGMENT: hour},
    }


def recomputed(
    existing: Mapping[str, Any] | None, key: RollupKey, store_hours: Iterable[Mapping[str, Any]]
) -> Document | None:
    """The member's hour summed from `store_hours` (each at the version read), or None when that is what it holds.

    A bucket keeps its version when its counters and stamp are unchanged; a bucket
    that no store feeds any more stays, at zero, so whoever enqueued it sees it fall.
    """
    member: Member = (key.scope, key.key)
    stores: dict[str, int] = {}
    as_of: str | None = None
    hour_parts: list[Counters] = []
    minute_parts: dict[str, list[Counters]] = {}
    stamps: dict[str, str | None] = {}
    for doc in store_hours:
        part = member_part(doc["segments"], member)
        if part is None:
            continue
        stores[doc["key"]] = doc["v"]
        as_of = _later(as_of, doc.get("as_of"))
        hour_parts.append(part)
        children: Mapping[str, Any] = doc.get("children", {})
        for minute in sorted({minute_of_child(child) for child in children}):
            segments, stamp = minute_segments(children, minute) or ({}, None)
            share = member_part(segments, member)
            if share is not None:
                minute_parts.setdefault(minute, []).append(share)
                stamps[minute] = _later(stamps.get(minute), stamp)
    had = existing is not None and "buckets" in existing
    old_buckets: dict[str, list[Any]] = (
        {m: orjson.loads(b) for m, b in existing["buckets"].items()} if had and existing else {}
    )
    version = (existing["v"] if existing else 0) + 1
    buckets: dict[str, Any] = {}
    changed = False
    for minute in sorted(minute_parts.keys() | old_buckets.keys()):
        old = old_buckets.get(minute)
        if minute in minute_parts:
            counters, stamp = sum_counters(minute_parts[minute]), stamps[minute]
        else:
            assert old is not None
            counters, stamp = dict.fromkeys(old[2], 0), old[1]
        if old is not None and old[1] == stamp and _same(old[2], counters):
            buckets[minute] = _pack(old)
            continue
        changed = True
        buckets[minute] = _pack([version, stamp, counters])
    hour = sum_counters(hour_parts)
    if (
        had
        and existing is not None
        and not changed
        and stores == existing["stores"]
        and _same(existing["segments"].get(ALL_SEGMENT, {}), hour)
        and as_of == existing.get("as_of")
    ):
        return None
    return _hour_doc(key, version, as_of, stores, hour, buckets)


def _same(a: Mapping[str, int], b: Mapping[str, int]) -> bool:
    return all(a.get(name, 0) == b.get(name, 0) for name in a.keys() | b.keys())


def minute_docs(
    hour: Mapping[str, Any], after: int = 0, lo: str | None = None, hi: str | None = None
) -> list[Document]:
    """The member's minutes as the minute documents they were (``basis: bucket``), for buckets newer than `after`.

    `lo` <= window < `hi` when given. A bucket's version is the hour's version at which
    it last changed, so it rises with every change of that minute.
    """
    scope, key = hour["scope"], hour["key"]
    out: list[Document] = []
    for window, packed in hour.get("buckets", {}).items():
        if (lo is not None and window < lo) or (hi is not None and window >= hi):
            continue
        version, as_of, counters = orjson.loads(packed)
        if version <= after:
            continue
        out.append(
            {
                **RollupKey(scope, key, "minute", window).fields(),
                "v": version,
                "as_of": as_of,
                "segments": {ALL_SEGMENT: counters},
                "basis": "bucket",
            }
        )
    out.sort(key=lambda d: d["window"])
    return out
