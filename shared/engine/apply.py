"""Apply a batch's contributions to their primary documents, exactly once.

Each primary document remembers the ids of the events it holds, with the position
(partition:sequence) of the message that brought each one. On a redelivery the same
position finds its id already there (already applied: skip, still *accepted*); a
producer duplicate finds its id under another position (a *duplicate*). Every touched
document is written once per batch with a conditional write (create, or replace on
its ETag); a lost race re-reads only the losing documents and applies again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import NamedTuple

from shared.contracts import OrderStatus
from shared.engine.aggregators import OrderAggregator
from shared.engine.documents import bump, new_document, writable
from shared.engine.views import Contribution, DocKey
from shared.pipeline.enriched import EnrichedEvent
from shared.stores.port import Document, DocumentStore
from shared.stores.updates import update_documents

__all__ = ["Fate", "PlannedEvent", "apply_primary"]


class Fate(Enum):
    """What became of an accepted event at its primary document."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"


class PlannedEvent(NamedTuple):
    """An enriched event on its way to its primary document."""

    enriched: EnrichedEvent
    contribution: Contribution
    hash: str
    position: str


@dataclass(slots=True)
class PrimaryResult:
    """Fates by position, and how many documents were written."""

    fates: dict[str, Fate]
    documents_written: int


def apply_primary(store: DocumentStore, planned: Sequence[PlannedEvent], now: datetime) -> PrimaryResult:
    """Apply `planned` (in sequence order) to their primary documents; one write per touched document."""
    groups: dict[str, tuple[DocKey, list[PlannedEvent]]] = {}
    for item in planned:
        key = item.contribution.doc
        groups.setdefault(key.id, (key, []))[1].append(item)
    fates: dict[str, Fate] = {}
    by_container: dict[str, dict[str, str]] = {}
    for doc_id, (key, _) in groups.items():
        by_container.setdefault(key.container, {})[doc_id] = key.pk

    def update(doc_id: str, current: Document | None) -> Document | None:
        key, items = groups[doc_id]
        updated, changed = _apply_document(current, key, items, fates, now)
        return updated if changed else None

    written = sum(len(update_documents(store, c, keys, update).written) for c, keys in by_container.items())
    return PrimaryResult(fates, written)


def _apply_document(
    current: Document | None,
    key: DocKey,
    items: list[PlannedEvent],
    fates: dict[str, Fate],
    now: datetime,
) -> tuple[Document, bool]:
    doc = writable(current) if current is not None else new_document(key)
    ids: dict[str, str] = doc["ids"]
    segments: dict[str, dict[str, int]] = doc["segments"]
    accepted, duplicate = Fate.ACCEPTED, Fate.DUPLICATE
    changed = False
    for item in items:  # once per event: kept flat on purpose
        position = item.position
        seen = ids.get(item.hash)
        if seen is not None:
            fates[position] = accepted if seen == position else duplicate
            continue
        ids[item.hash] = position
        fates[position] = accepted
        changed = True
        if key.view == "order":
            _add_status(doc, item)
            continue
        # CounterAggregator.merge, in place
        contribution = item.contribution
        state = segments.get(contribution.segment)
        if state is None:
            state = segments[contribution.segment] = {}
        for name, value in contribution.counters.items():
            state[name] = state.get(name, 0) + value
    if changed:
        bump(doc, now)
    return doc, changed


_ORDERS = OrderAggregator()


def _add_status(doc: Document, item: PlannedEvent) -> None:
    event: OrderStatus = item.enriched.event  # type: ignore[assignment]
    doc["statuses"] = _ORDERS.add(doc.get("statuses", []), item.enriched)
    doc["store_id"] = event.store_id
