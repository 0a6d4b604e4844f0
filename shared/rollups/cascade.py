"""Which rollup documents a changed document feeds, and with what.

Levels: base views -> store hour, and orders -> store minute (its orders) -> store hour
(`shared.rollups.store_hours`); a store hour -> its store local days and the hour (with
its minutes as buckets) of its region, its channel and the chain; a store day -> its
region's and channel's day -> the chain's day. Each edge carries the child's segments
(the part of it that belongs to the parent); a bucket edge carries the store hour
itself (`shared.rollups.buckets`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.engine.orders import window_contributions
from shared.engine.windows import hour_of
from shared.kpis.state import CHAIN_KEY, Scope
from shared.rollups.buckets import BucketEdge, bucket_edges, member_part
from shared.rollups.keys import RollupKey
from shared.rollups.segments import ALL_SEGMENT, Segments, segment_parts, select
from shared.rollups.store_hours import ORDER_CHILD, ORDERS_PART, orders_edge_part, part_key

__all__ = ["Edge", "edges_from_base", "edges_from_rollup"]

STORE_VIEWS = frozenset({"sales", "traffic"})


@dataclass(frozen=True, slots=True)
class Edge:
    """`child` (with version `version`) contributes `segments` to `parent`."""

    parent: RollupKey
    child: str
    version: int
    as_of: str | None
    segments: Segments


def edges_from_base(doc: Mapping[str, Any]) -> Iterator[Edge]:
    """Edges from a base view document (views container) or an order (orders container)."""
    view = doc.get("view")
    if view in STORE_VIEWS:
        parent = RollupKey("store", doc["key"], "hour", hour_of(doc["window"]))
        yield Edge(parent, part_key(doc["window"], view), doc["v"], doc.get("as_of"), doc["segments"])
    elif view == "order":
        yield from _order_edges(doc)


def _order_edges(doc: Mapping[str, Any]) -> Iterator[Edge]:
    by_minute: dict[int, Segments] = {}
    for (minute, attrs), counters in window_contributions([tuple(s) for s in doc["statuses"]]).items():
        region, channel, zone = attrs.split("|")
        local_day = datetime.fromtimestamp(minute * 60, UTC).astimezone(ZoneInfo(zone)).date().isoformat()
        by_minute.setdefault(minute, {})[f"{region}|{channel}|{local_day}"] = counters
    versions: dict[str, int] = doc.get("minute_v") or {}  # absent before minutes had versions: the order's
    for minute, segments in by_minute.items():
        window = datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%dT%H:%M:00Z")
        parent = RollupKey("store", doc["store_id"], "minute", window)
        version = versions.get(str(minute), doc["v"])
        yield Edge(parent, f"{ORDER_CHILD}{doc['key']}", version, doc.get("as_of"), segments)


def edges_from_rollup(doc: Mapping[str, Any]) -> Iterator[Edge | BucketEdge]:
    """Edges from a rollup document to the rollups above it.

    A store minute feeds its store hour its orders; a store hour its local days and, as buckets,
    the hour of its region, channel and the chain (`shared.rollups.buckets`); a store
    day its region's and channel's day, and a region's day the chain's.
    """
    scope, key, grain, window = doc["scope"], doc["key"], doc["grain"], doc["window"]
    version, as_of = doc["v"], doc.get("as_of")
    segments: Segments = doc["segments"]
    if scope == "store":
        if grain == "minute":
            orders, stamp = orders_edge_part(doc)
            yield Edge(
                RollupKey("store", key, "hour", hour_of(window)), part_key(window, ORDERS_PART), version, stamp, orders
            )
        elif grain == "hour":
            for day in sorted({segment_parts(s)[2] for s in segments}):
                part = select(segments, day=day)
                yield Edge(RollupKey("store", key, "day", day), window, version, as_of, part)
            yield from bucket_edges(doc)
        else:
            parts = [segment_parts(s) for s in segments]
            ups: list[tuple[Scope, str]] = [("region", r) for r in sorted({p[0] for p in parts})]
            ups += [("channel", c) for c in sorted({p[1] for p in parts})]
            for scope_up, key_up in ups:
                part = {ALL_SEGMENT: member_part(segments, (scope_up, key_up)) or {}}
                yield Edge(RollupKey(scope_up, key_up, grain, window), key, version, as_of, part)
    elif scope == "region" and grain == "day":
        yield Edge(RollupKey("chain", CHAIN_KEY, grain, window), key, version, as_of, segments)
