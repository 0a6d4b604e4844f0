"""Read rollups by window, minutes included: the one place that knows where a minute lives.

A minute is not a document of its own. A region's, a channel's or the chain's minute is
a bucket of its hour document (`shared.rollups.buckets`); a store's minute is the sum of
its parts in the store's hour (`shared.rollups.store_hours`). Both are given here as the
minute document they were (``basis: bucket``). An hour written before its minutes moved
into it has no ``buckets`` (``minute_v`` for a store): its minutes are still the minute
documents of that time, and are read as such, so a deployment upgraded mid-day reads its
earlier minutes where they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from shared.engine.windows import hour_of
from shared.rollups import buckets, store_hours
from shared.rollups.keys import ROLLUPS_CONTAINER, RollupKey
from shared.stores.port import Document, DocumentStore

__all__ = ["hour_minutes", "keeps_minutes", "query_minutes", "read_rollups"]

_FIELDS = {"store": ("key", "window", "scope", store_hours.MINUTE_VERSIONS, "children")}
_UPPER_FIELDS = ("key", "window", "scope", "buckets")


def keeps_minutes(doc: Mapping[str, Any]) -> bool:
    """An hour document (whole, or its `_FIELDS`) whose minutes are read from it: a store's with ``minute_v``,
    one above the store with ``buckets``."""
    if doc.get("grain", "hour") != "hour":
        return False
    if doc.get("scope") == "store":
        return doc.get(store_hours.MINUTE_VERSIONS) is not None
    return doc.get("scope") in buckets.BUCKETED_SCOPES and doc.get("buckets") is not None


def hour_minutes(
    hour: Mapping[str, Any], after: int = 0, lo: str | None = None, hi: str | None = None
) -> list[Document]:
    """The minutes of an hour that keeps them, as minute documents: those changed after hour version `after`,
    with `lo` <= window < `hi` when given."""
    if hour["scope"] == "store":
        return store_hours.minute_docs(hour, after=after, lo=lo, hi=hi)
    return buckets.minute_docs(hour, after=after, lo=lo, hi=hi)


def _in_hour(key: RollupKey) -> bool:
    return key.grain == "minute"


def _hour_key(key: RollupKey) -> RollupKey:
    return RollupKey(key.scope, key.key, "hour", hour_of(key.window))


def read_rollups(store: DocumentStore, keys: Sequence[RollupKey]) -> dict[str, Document]:
    """The rollup document of each key that has one, by id (point reads, a minute from its hour)."""
    wanted = {k.id: k for k in keys}
    reads = {k.id: k for k in wanted.values() if not _in_hour(k)}
    reads.update({h.id: h for h in (_hour_key(k) for k in wanted.values() if _in_hour(k))})
    docs = store.read_many(ROLLUPS_CONTAINER, [(k.pk, k.id) for k in reads.values()]) if reads else {}
    out = {ident: docs[ident] for ident in wanted if ident in docs and not _in_hour(wanted[ident])}
    minutes: dict[str, dict[str, Document]] = {}
    legacy: list[RollupKey] = []
    for ident, key in wanted.items():
        if not _in_hour(key):
            continue
        hour = docs.get(_hour_key(key).id)
        if hour is None:
            continue  # nothing in that hour yet
        if not keeps_minutes(hour):
            legacy.append(key)  # an hour from before: its minutes are documents
            continue
        if hour["id"] not in minutes:
            minutes[hour["id"]] = {d["id"]: d for d in hour_minutes(hour)}
        doc = minutes[hour["id"]].get(ident)
        if doc is not None:
            out[ident] = doc
    if legacy:
        out.update(store.read_many(ROLLUPS_CONTAINER, [(k.pk, k.id) for k in legacy]))
    return out


def _hour_ranges(scope: str, lo: str | None, hi: str | None) -> list[tuple[str | None, str | None]]:
    """The hour-document window ranges to read for minutes in [lo, hi): a store's hours one hour at a time
    (each holds its minutes' parts: every store's at once would be the largest moment of a range read)."""
    first = None if lo is None else hour_of(lo)
    if scope != "store" or first is None or hi is None:
        return [(first, hi)]
    out: list[tuple[str | None, str | None]] = []
    at = datetime.fromisoformat(first.replace("Z", "+00:00"))
    while (start := at.strftime("%Y-%m-%dT%H:00:00Z")) < hi:
        at += timedelta(hours=1)
        out.append((start, min(at.strftime("%Y-%m-%dT%H:00:00Z"), hi)))
    return out


def query_minutes(
    store: DocumentStore, scope: str, lo: str | None, hi: str | None, key: str | None = None
) -> Iterator[Document]:
    """Minute documents of `scope` (every member, or `key`) with `lo` <= window < `hi` (None: open)."""
    where: dict[str, Any] = {"scope": scope, "grain": "minute"}
    if key is not None:
        where["key"] = key
    older: set[tuple[str, str]] = set()
    for window in _hour_ranges(scope, lo, hi):
        hours = store.query(
            ROLLUPS_CONTAINER,
            where={**where, "grain": "hour"},
            where_range={"window": window},
            fields=_FIELDS.get(scope, _UPPER_FIELDS),
        )
        for hour in hours:
            if not keeps_minutes(hour):
                older.add((hour["key"], hour["window"]))
                continue
            yield from hour_minutes(hour, lo=lo, hi=hi)
        del hours
    if not older:
        return  # every hour keeps its minutes (an hour without a document has no minutes either)
    for doc in store.query(ROLLUPS_CONTAINER, where=where, where_range={"window": (lo, hi)}):
        if (doc["key"], hour_of(doc["window"])) in older:
            yield doc  # written before its hour kept its minutes
