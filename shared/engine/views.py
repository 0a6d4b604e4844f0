"""Base views: which document an accepted event belongs to, and what it adds there.

Each event has exactly one *primary* document, which also remembers, per partition,
the last sequence number applied (for redeliveries; producer copies are settled
before it by the event-id registry). Contributions are integer counters grouped by
*segment* (the store's region, channel and local business date as of the event), so
that rollups can split a store's window exactly even if an attribute changed inside it.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from shared.contracts import CostUsage, DataQualityCheck, LogRecord, OrderStatus, RawEventLanding, Transaction
from shared.contracts.registry import store_key
from shared.engine.aggregators import AGGREGATORS, CounterAggregator, OrderAggregator
from shared.engine.windows import hour_of
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
    return NO_SEGMENT if store is None else store.segment


_SALES: Final[CounterAggregator] = AGGREGATORS[Transaction]  # type: ignore[assignment]
_DOC_KEYS: dict[tuple[str, str, str], DocKey] = {}
_CACHE_LIMIT = 8_192  # (view, key, window): the minutes in flight; ~300 bytes an entry (100,000 held ~25 MiB)


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
    """The primary document of `enriched` and what its view's aggregator adds there."""
    event = enriched.event
    kind = type(event)
    if kind is Transaction:  # the hot path: most events are sales
        doc = _view_doc("sales", event.merchant_id, enriched.minute)  # type: ignore[union-attr]
        return Contribution(doc, segment_of(enriched), _SALES.increments(enriched))
    aggregator = AGGREGATORS[kind]
    if isinstance(aggregator, OrderAggregator):
        order: OrderStatus = event  # type: ignore[assignment]
        doc = DocKey("orders", order.store_id, f"order|{order.order_id}", "order", order.order_id, "")
        return Contribution(doc, segment_of(enriched), {})
    minute = enriched.minute
    if kind is DataQualityCheck:
        window = minute[:10]  # the UTC day
    elif kind is CostUsage:
        window = hour_of(minute)
    else:
        window = minute
    key = store_key(event) or str(getattr(event, _PLATFORM_KEYS[kind]))
    return Contribution(_view_doc(aggregator.view, key, window), segment_of(enriched), aggregator.increments(enriched))


_PLATFORM_KEYS: Final[dict[type[object], str]] = {
    LogRecord: "service_id",
    DataQualityCheck: "dataset_id",
    CostUsage: "cost_center_id",
    RawEventLanding: "source_system_id",
}
