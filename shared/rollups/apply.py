"""Apply edges to rollup documents: replace the child's part if it is newer, update the sum, write once.

A parent's segments are the sum of its children's. A newer child version changes the
sum by its difference (new minus old), which costs the size of that child, not of the
whole parent: a store's hour holds up to 60 minutes, a store's minute every order
that touched it, a region's minute every store of the region. The difference is
exact for integer counters; where it could not give what a full re-sum gives (a
counter or segment the child no longer has, a sum at the stores' exact bound), the
parent is re-summed from its children. `as_of` (the newest child stamp) is kept the
same way: re-computed from every child only when the child that held it goes back.

Each child is kept packed, as the JSON text of ``[version, as_of, segments]``, so
reading a parent makes one string per child and only the children a page touches
are parsed. A child written before packing (an object with ``v``, ``as_of`` and
``segments``) is read as well, and packed when it next changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from shared.engine.bounds import MAX_STORED_INT
from shared.engine.documents import STATE_VERSION
from shared.rollups.buckets import BucketEdge, next_bucket_version, record_step
from shared.rollups.cascade import Edge, edges_from_rollup
from shared.rollups.children import Child, child_of
from shared.rollups.keys import ROLLUPS_CONTAINER, RollupKey
from shared.rollups.segments import Segments, merge_segments
from shared.rollups.store_hours import (
    MINUTE_VERSIONS,
    ORDERS_PART,
    minute_of_child,
    minute_segments,
    minute_versions,
    split_minute,
)
from shared.stores.port import Document, DocumentStore
from shared.stores.updates import CHUNK, update_chunks

__all__ = ["Child", "apply_edges", "child_of", "next_version"]


def apply_edges(
    store: DocumentStore, edges: Iterable[Edge | BucketEdge], *, chunk: int = CHUNK
) -> tuple[list[Edge | BucketEdge], int]:
    """Apply `edges`, `chunk` parents at a time; return the edges to the level above and the writes made.

    The edges above come from the parents written and from those that did not change:
    after a crash between two levels, a replayed page finds the lower level already
    written and must still cascade upward. Each chunk's parent documents are let go
    once their edges are taken (the edges keep the segments, not the children).
    """
    by_parent: dict[str, tuple[RollupKey, list[Any]]] = {}
    for edge in edges:
        by_parent.setdefault(edge.parent.id, (edge.parent, []))[1].append(edge)
    hours: dict[str, list[Document]] = {}

    def hour_stores(window: str) -> list[Document]:
        if window not in hours:
            hours[window] = store.query(ROLLUPS_CONTAINER, where={"scope": "store", "grain": "hour", "window": window})
        return hours[window]

    def minute_doc(key: RollupKey) -> Document | None:
        return store.read_many(ROLLUPS_CONTAINER, [(key.pk, key.id)]).get(key.id)

    def update(doc_id: str, current: Document | None) -> Document | None:
        key, parent_edges = by_parent[doc_id]
        if isinstance(parent_edges[0], BucketEdge):
            return next_bucket_version(current, key, parent_edges, lambda: hour_stores(key.window))
        return next_version(current, key, parent_edges, minute_doc)

    above: list[Edge | BucketEdge] = []
    written = 0
    keys = {doc_id: key.pk for doc_id, (key, _) in by_parent.items()}
    for done in update_chunks(store, ROLLUPS_CONTAINER, keys, update, chunk=chunk):
        written += done.count
        above += [edge for doc in (*done.written, *done.unchanged) for edge in edges_from_rollup(doc)]
    return above, written


MinuteDoc = Callable[[RollupKey], Document | None]
"""Reads a store minute document (a store hour written before splits its whole minutes by them)."""


def next_version(
    existing: Mapping[str, Any] | None, key: RollupKey, edges: list[Edge], minute_doc: MinuteDoc | None = None
) -> Document | None:
    """The parent with every newer child version in it, or None when each edge is already counted."""
    store_hour = key.scope == "store" and key.grain == "hour"
    children: dict[str, Any] = dict(existing["children"]) if existing else {}
    summed = _Sum(existing["segments"]) if existing else None
    as_of: str | None = existing.get("as_of") if existing else None
    restamp = False
    dirty = False
    replaced: dict[str, Segments] = {}
    for edge in edges:
        if store_hour:
            minute = minute_of_child(edge.child)
            if minute in children and edge.child != minute:
                before = child_of(children[minute])
                replaced.setdefault(minute, before.segments)
                split_minute(children, minute, minute_doc(_minute_key(key, minute)) if minute_doc else None)
                parts = minute_segments(children, minute)
                if summed is not None and not summed.replace(before.segments, parts[0] if parts else {}):
                    summed = None
                restamp = dirty = True
        kept = children.get(edge.child)
        known = None if kept is None else child_of(kept)
        if known is not None and known.version >= edge.version:
            continue  # an older or the same version of that child: already counted
        if store_hour:
            if minute not in replaced:
                now = minute_segments(children, minute)
                replaced[minute] = now[0] if now else {}
        else:
            replaced.setdefault(edge.child, known.segments if known else {})
        children[edge.child] = orjson.dumps([edge.version, edge.as_of, edge.segments]).decode()
        dirty = True
        if summed is not None and not summed.replace(known.segments if known else {}, edge.segments):
            summed = None
        if known is not None and known.as_of and known.as_of == as_of and (edge.as_of or "") < known.as_of:
            restamp = True  # the newest stamp went back: only every child knows the newest now
        if edge.as_of and (as_of is None or edge.as_of > as_of):
            as_of = edge.as_of
    if not dirty:
        return None
    every = [child_of(kept) for kept in children.values()] if restamp or summed is None else []
    if restamp:
        as_of = max((c.as_of for c in every if c.as_of), default=None)
    version = (existing["v"] if existing else 0) + 1
    doc: Document = {
        **key.fields(),
        "state_version": STATE_VERSION,
        "v": version,
        "as_of": as_of,
        "children": children,
        "segments": summed.segments if summed is not None else merge_segments(c.segments for c in every),
    }
    if store_hour:
        doc["steps"] = record_step(existing, replaced)  # what the hours above take the change from
        doc[MINUTE_VERSIONS] = minute_versions(existing, replaced, version)
    elif key.scope == "store" and key.grain == "minute":
        doc["part"] = ORDERS_PART  # the minute's orders; its sales and traffic are children of the hour
    return doc


def _minute_key(hour: RollupKey, minute: str) -> RollupKey:
    return RollupKey(hour.scope, hour.key, "minute", minute)


class _Sum:
    """A parent's segments, changed child by child; copies only the segments it touches."""

    __slots__ = ("_copied", "segments")

    def __init__(self, segments: Segments) -> None:
        self.segments: Segments = dict(segments)
        self._copied: set[str] = set()

    def replace(self, old: Segments, new: Segments) -> bool:
        """Add `new - old`; False when only a re-sum gives the exact same document."""
        for segment, counters in old.items():
            kept = new.get(segment)
            if kept is None or not counters.keys() <= kept.keys():
                return False  # a segment or counter gone from the child: it may vanish from the sum
        for segment, counters in new.items():
            before = old.get(segment, {})
            into = self._own(segment)
            for name, value in counters.items():
                current = into.get(name, 0)
                if current >= MAX_STORED_INT:
                    return False  # the sum may have been held at the bound: only a re-sum knows
                summed = current + value - before.get(name, 0)
                if summed > MAX_STORED_INT:
                    return False
                into[name] = summed
        return True

    def _own(self, segment: str) -> dict[str, int]:
        if segment not in self._copied:
            self._copied.add(segment)
            self.segments[segment] = dict(self.segments.get(segment, {}))
        return self.segments[segment]
