"""Read rollups by window, minutes above the store included: the one place that knows where a minute lives.

A store's minute is a document. A region's, a channel's or the chain's minute is a
bucket of its hour document (`shared.rollups.buckets`), given here as the minute
document it was (``basis: bucket``). An hour written before buckets existed has no
buckets; its minutes are still the minute documents of that time, and are read as
such, so a deployment upgraded mid-day reads its earlier minutes where they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from shared.engine.windows import hour_of
from shared.rollups.buckets import BUCKETED_SCOPES, minute_docs
from shared.rollups.keys import ROLLUPS_CONTAINER, RollupKey
from shared.stores.port import Document, DocumentStore

__all__ = ["query_minutes", "read_rollups"]


def _bucketed(key: RollupKey) -> bool:
    return key.grain == "minute" and key.scope in BUCKETED_SCOPES


def _hour_key(key: RollupKey) -> RollupKey:
    return RollupKey(key.scope, key.key, "hour", hour_of(key.window))


def read_rollups(store: DocumentStore, keys: Sequence[RollupKey]) -> dict[str, Document]:
    """The rollup document of each key that has one, by id (point reads, a minute above the store from its hour)."""
    wanted = {k.id: k for k in keys}
    reads = {k.id: k for k in wanted.values() if not _bucketed(k)}
    reads.update({h.id: h for h in (_hour_key(k) for k in wanted.values() if _bucketed(k))})
    docs = store.read_many(ROLLUPS_CONTAINER, [(k.pk, k.id) for k in reads.values()]) if reads else {}
    out = {ident: docs[ident] for ident in wanted if ident in docs and not _bucketed(wanted[ident])}
    minutes: dict[str, dict[str, Document]] = {}
    legacy: list[RollupKey] = []
    for ident, key in wanted.items():
        if not _bucketed(key):
            continue
        hour = docs.get(_hour_key(key).id)
        if hour is None:
            continue  # nothing in that hour yet
        if "buckets" not in hour:
            legacy.append(key)  # an hour from before buckets: its minutes are documents
            continue
        if hour["id"] not in minutes:
            minutes[hour["id"]] = {d["id"]: d for d in minute_docs(hour)}
        doc = minutes[hour["id"]].get(ident)
        if doc is not None:
            out[ident] = doc
    if legacy:
        out.update(store.read_many(ROLLUPS_CONTAINER, [(k.pk, k.id) for k in legacy]))
    return out


def query_minutes(
    store: DocumentStore, scope: str, lo: str | None, hi: str | None, key: str | None = None
) -> Iterator[Document]:
    """Minute documents of `scope` (every member, or `key`) with `lo` <= window < `hi` (None: open)."""
    where: dict[str, Any] = {"scope": scope, "grain": "minute"}
    if key is not None:
        where["key"] = key
    if scope not in BUCKETED_SCOPES:
        yield from store.query(ROLLUPS_CONTAINER, where=where, where_range={"window": (lo, hi)})
        return
    hours = store.query(
        ROLLUPS_CONTAINER,
        where={**where, "grain": "hour"},
        where_range={"window": (None if lo is None else hour_of(lo), hi)},
        fields=("key", "window", "scope", "buckets"),
    )
    older: set[tuple[str, str]] = set()
    for hour in hours:
        if hour.get("buckets") is None:
            older.add((hour["key"], hour["window"]))
            continue
        yield from minute_docs(hour, lo=lo, hi=hi)
    del hours
    if not older:
        return  # every hour keeps buckets (an hour without a document has no minutes either)
    for doc in store.query(ROLLUPS_CONTAINER, where=where, where_range={"window": (lo, hi)}):
        if (doc["key"], hour_of(doc["window"])) in older:
            yield doc  # written before its hour kept buckets
