"""A store's hour with its minutes inside: each minute's sales, traffic and orders are children of the hour.

A base view (sales or traffic of one store minute) feeds its store hour directly, as the
child ``<minute>|sales`` or ``<minute>|traffic``; a store minute's orders still meet in a
minute document of their own (a store hour holding every order part of its minutes
would be ~170 KB on the mixed load), which feeds the hour as ``<minute>|orders``. A
store's minute is the sum of its parts in the hour (`minute_segments`); the hour keeps,
in ``minute_v``, the hour version at which each minute last changed, so a minute read
from the hour (`minute_docs`) has a version that rises with every change of it, as a
minute document's did. A rollup page writes a store hour once, however many of its
minutes changed, where it wrote every changed store minute and the hour (docs/engine.md,
"Store minutes inside the hour").

An hour written before keeps whole store minutes as children (``<minute>``), each the
minute document of that time, which still keeps its sales, traffic and orders apart:
the first change of such a minute splits it into its parts by reading that document
(`split_minute`). An hour without ``minute_v`` was never written this way: its minutes
are the minute documents (`shared.rollups.minutes.keeps_minutes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, Final

import orjson

from shared.engine.documents import STATE_VERSION
from shared.rollups.children import Child, child_of
from shared.rollups.keys import RollupKey
from shared.rollups.segments import Segments, merge_segments
from shared.stores.port import Document

__all__ = [
    "MINUTE_VERSIONS",
    "ORDERS_PART",
    "ORDER_CHILD",
    "PARTS",
    "minute_docs",
    "minute_of_child",
    "minute_segments",
    "minute_versions",
    "orders_edge_part",
    "part_key",
    "split_minute",
]

PARTS: Final = ("sales", "traffic", "orders")
"""A store minute's parts, each a child of the store hour."""
ORDERS_PART: Final = "orders"
MINUTE_VERSIONS: Final = "minute_v"
"""Store hour field: minute of the hour (``MM``) -> the hour's version at which that minute last changed."""
ORDER_CHILD: Final = "order:"
"""A store minute document's children from orders are ``order:<order key>``."""


def part_key(window: str, part: str) -> str:
    """The store hour's child of one part of a minute: ``<minute>|<part>``."""
    return f"{window}|{part}"


def minute_of_child(child: str) -> str:
    """The minute a store hour's child belongs to (a part's or, written before, the whole minute's)."""
    return child.partition("|")[0]


def minute_segments(children: Mapping[str, Any], minute: str) -> tuple[Segments, str | None] | None:
    """(segments, as_of) of a store minute from its children in the hour; None when the hour has none of it."""
    found: list[Child] = []
    for child in (minute, *(part_key(minute, p) for p in PARTS)):
        kept = children.get(child)
        if kept is not None:
            found.append(child_of(kept))
    if not found:
        return None
    if len(found) == 1:
        return found[0].segments, found[0].as_of
    stamps = [c.as_of for c in found if c.as_of]
    return merge_segments(c.segments for c in found), max(stamps) if stamps else None


def orders_edge_part(doc: Mapping[str, Any]) -> tuple[Segments, str | None]:
    """(segments, as_of) of a store minute document's orders: the whole document unless it was written before,
    when its sales and traffic were children of it too (those now feed the hour directly)."""
    children: Mapping[str, Any] = doc.get("children", {})
    if all(name.startswith(ORDER_CHILD) for name in children):
        return doc["segments"], doc.get("as_of")
    orders = [child_of(kept) for name, kept in children.items() if name.startswith(ORDER_CHILD)]
    stamps = [c.as_of for c in orders if c.as_of]
    return merge_segments(c.segments for c in orders), max(stamps) if stamps else None


def split_minute(children: MutableMapping[str, Any], minute: str, minute_doc: Mapping[str, Any] | None) -> None:
    """Replace a whole-minute child (written before) by the minute's parts, as its minute document keeps them.

    The document may be newer than the child (its edge not applied yet): its parts
    carry their own versions, so that edge, when it comes, is already counted.
    """
    if minute not in children:
        return
    if minute_doc is None:
        raise ValueError(f"store hour child {minute} has no minute document to split it by")
    del children[minute]
    kept: Mapping[str, Any] = minute_doc.get("children", {})
    for view in ("sales", "traffic"):
        if view in kept:
            child = child_of(kept[view])
            children[part_key(minute, view)] = _pack(child.version, child.as_of, child.segments)
    if any(name.startswith(ORDER_CHILD) for name in kept):
        segments, as_of = orders_edge_part(minute_doc)
        children[part_key(minute, ORDERS_PART)] = _pack(minute_doc["v"], as_of, segments)


def _pack(version: int, as_of: str | None, segments: Segments) -> str:
    return orjson.dumps([version, as_of, segments]).decode()


def minute_docs(
    hour: Mapping[str, Any], after: int = 0, lo: str | None = None, hi: str | None = None
) -> list[Document]:
    """The store's minutes as minute documents, for minutes changed after hour version `after`; `lo` <= window < `hi`.

    A minute's version is the hour's version at which it last changed (``minute_v``).
    """
    versions: Mapping[str, int] = hour.get(MINUTE_VERSIONS, {})
    children: Mapping[str, Any] = hour.get("children", {})
    prefix = hour["window"][:14]  # "YYYY-MM-DDTHH:"
    out: list[Document] = []
    for mm, version in sorted(versions.items()):
        window = f"{prefix}{mm}:00Z"
        if version <= after or (lo is not None and window < lo) or (hi is not None and window >= hi):
            continue
        found = minute_segments(children, window)
        segments, as_of = found if found is not None else ({}, None)
        out.append(
            {
                **RollupKey("store", hour["key"], "minute", window).fields(),
                "state_version": STATE_VERSION,
                "v": version,
                "as_of": as_of,
                "segments": segments,
                "basis": "bucket",
            }
        )
    return out


def minute_versions(existing: Mapping[str, Any] | None, touched: Iterable[str], version: int) -> dict[str, int]:
    """The hour's ``minute_v`` after `version` changed the minutes `touched` (every minute it holds, the first time)."""
    out: dict[str, int] = dict(existing.get(MINUTE_VERSIONS, {})) if existing else {}
    if existing is not None and MINUTE_VERSIONS not in existing:
        for child in existing.get("children", {}):
            out[_mm(minute_of_child(child))] = version  # written before: every minute is new to its readers
    for minute in touched:
        out[_mm(minute)] = version
    return out


def _mm(window: str) -> str:
    return window[14:16]
