"""Base views: which document an accepted event belongs to, and what it adds there.

Each event has exactly one *primary* document, which also remembers the event's id
(for producer duplicates) and, per partition, the last sequence number applied (for
redeliveries). Contributions are integer counters grouped by *segment* (the store's
region, channel and local business date as of the event), so that rollups can split
a store's window exactly even if an attribute changed inside it.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from shared.contracts import (
    CostUsage,
    DataQualityCheck,
    Footfall,
    LogRecord,
    OrderStatus,
    RawEventLanding,
    Transaction,
)
from shared.engine.windows import day_of, hour_of, minute_of
from shared.pipeline.enriched import EnrichedEvent

__all__ = ["NO_SEGMENT", "Contribution", "DocKey", "contribution_of", "segment_of"]

NO_SEGMENT: Final = "-"
"""Segment of platform views, which have no store."""

Counters = dict[str, int]


class DocKey(NamedTuple):
    """Where a document lives: container, partition key value, id; plus its view, key and window."""

    container: str
    pk: str
    id: str
    view: str
    key: str
    window: str


class Contribution(NamedTuple):
    """What one event adds to its primary document."""

    doc: DocKey
    segment: str
    counters: Counters


def segment_of(event: EnrichedEvent) -> str:
    """``region|channel|local date`` of a store event; `NO_SEGMENT` for platform events."""
    store = event.store
    if store is None:
        return NO_SEGMENT
    return f"{store.region}|{store.channel}|{store.business_date.isoformat()}"


_DOC_KEYS: dict[tuple[str, str, str], DocKey] = {}
_CACHE_LIMIT = 100_000


def _view_doc(view: str, key: str, window: str) -> DocKey:
    # One logical partition per view, key and UTC day: a store's busy day stays well below
    # Cosmos DB's per-partition limits, and a batch's documents share few partitions.
    cache_key = (view, key, window)
    doc = _DOC_KEYS.get(cache_key)
    if doc is None:
        if len(_DOC_KEYS) >= _CACHE_LIMIT:
            _DOC_KEYS.clear()
        doc = _DOC_KEYS[cache_key] = DocKey(
            "views", f"{view}|{key}|{window[:10]}", f"{view}|{key}|{window}", view, key, window
        )
    return doc


def contribution_of(enriched: EnrichedEvent) -> Contribution:
    """The primary document of `enriched` and its counters (orders: see `orders.py`)."""
    event = enriched.event
    ts = enriched.event_time
    if isinstance(event, Transaction):
        amount = enriched.amount_cents or 0
        if event.txn_type == "sale":
            counters = {"gross_cents": amount, "sales": 1, "units": enriched.units}
        elif event.txn_type == "refund":
            counters = {"refund_cents": amount, "refunds": 1}
        else:
            counters = {"voids": 1}
        return Contribution(_view_doc("sales", event.merchant_id, minute_of(ts)), segment_of(enriched), counters)
    if isinstance(event, Footfall):
        counters = {"visitors": event.visitors, "traffic_reports": 1}
        return Contribution(_view_doc("traffic", event.store_id, minute_of(ts)), segment_of(enriched), counters)
    if isinstance(event, OrderStatus):
        doc = DocKey("orders", event.store_id, f"order|{event.order_id}", "order", event.order_id, "")
        return Contribution(doc, segment_of(enriched), {})
    if isinstance(event, LogRecord):
        counters = {event.log_level.lower(): 1, "logs": 1}
        return Contribution(_view_doc("logs", event.service_id, minute_of(ts)), NO_SEGMENT, counters)
    if isinstance(event, DataQualityCheck):
        counters = {event.check_status: 1, "checks": 1}
        return Contribution(_view_doc("dq", event.dataset_id, day_of(ts)), NO_SEGMENT, counters)
    if isinstance(event, CostUsage):
        counters = {"cost_cents": enriched.amount_cents or 0, "records": 1}
        return Contribution(_view_doc("cost", event.cost_center_id, hour_of(minute_of(ts))), NO_SEGMENT, counters)
    if isinstance(event, RawEventLanding):
        counters = {"records": 1, "bytes": event.size_bytes}
        return Contribution(_view_doc("landing", event.source_system_id, minute_of(ts)), NO_SEGMENT, counters)
    raise TypeError(f"no view for {type(event).__name__}")
