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
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import NamedTuple

from shared.contracts import OrderStatus
from shared.engine.aggregators import OrderAggregator
from shared.engine.bounds import MAX_STORED_INT
from shared.engine.documents import bump, new_document, writable
from shared.engine.views import Contribution, DocKey
from shared.pipeline.dead_letters import ReasonCode
from shared.pipeline.enriched import EnrichedEvent
from shared.stores.port import Document, DocumentStore, RejectedWrite
from shared.stores.updates import update_documents

__all__ = ["Fate", "PlannedEvent", "apply_primary"]


class Fate(Enum):
    """What became of an accepted event at its primary document."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    """Cannot be applied (a sum past the store's integer range, a document the store refuses):
    isolated as a dead letter with its reason, the rest of the batch applied."""


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
    rejections: dict[str, tuple[ReasonCode, str]] = field(default_factory=dict)
    """Reason code and words of each `Fate.REJECTED` position."""


def apply_primary(store: DocumentStore, planned: Sequence[PlannedEvent], now: datetime) -> PrimaryResult:
    """Apply `planned` (in sequence order) to their primary documents; one write per touched document."""
    groups: dict[str, tuple[DocKey, list[PlannedEvent]]] = {}
    for item in planned:
        key = item.contribution.doc
        groups.setdefault(key.id, (key, []))[1].append(item)
    result = PrimaryResult({}, 0)
    by_container: dict[str, dict[str, str]] = {}
    for doc_id, (key, _) in groups.items():
        by_container.setdefault(key.container, {})[doc_id] = key.pk

    def update(doc_id: str, current: Document | None) -> Document | None:
        key, items = groups[doc_id]
        updated, changed = _apply_document(current, key, items, result, now)
        return updated if changed else None

    for container, keys in by_container.items():
        try:
            result.documents_written += len(update_documents(store, container, keys, update).written)
        except RejectedWrite:
            for doc_id, pk in keys.items():  # find the refused documents, then the events that make them
                result.documents_written += _isolate(store, container, doc_id, pk, groups[doc_id], result, now)
    return result


def _isolate(
    store: DocumentStore,
    container: str,
    doc_id: str,
    pk: str,
    group: tuple[DocKey, list[PlannedEvent]],
    result: PrimaryResult,
    now: datetime,
) -> int:
    """Apply one document's events; once the store refuses them together, one event per write.

    Deterministic: the same events against the same document are refused the same
    way, so a redelivery or a replay after a crash reaches the same fates.
    """
    key, items = group

    def run(chunk: list[PlannedEvent]) -> int:
        def update(_: str, current: Document | None) -> Document | None:
            updated, changed = _apply_document(current, key, chunk, result, now)
            return updated if changed else None

        return len(update_documents(store, container, {doc_id: pk}, update).written)

    chunks = [items] if len(items) == 1 else [items, *([item] for item in items)]
    written = 0
    for chunk in chunks:
        try:
            written += run(chunk)
        except RejectedWrite as exc:
            if len(chunk) == 1:
                result.fates[chunk[0].position] = Fate.REJECTED
                result.rejections[chunk[0].position] = (
                    ReasonCode.STORE_REFUSED,
                    f"{key.id} cannot hold this event: {exc}",
                )
            continue
        if chunk is items:
            break  # the whole document went through (another one was the refused one)
    return written


def _apply_document(
    current: Document | None,
    key: DocKey,
    items: list[PlannedEvent],
    result: PrimaryResult,
    now: datetime,
) -> tuple[Document, bool]:
    doc = writable(current) if current is not None else new_document(key)
    ids: dict[str, str] = doc["ids"]
    segments: dict[str, dict[str, int]] = doc["segments"]
    accepted, duplicate = Fate.ACCEPTED, Fate.DUPLICATE
    fates = result.fates
    changed = False
    for item in items:  # once per event: kept flat on purpose
        position = item.position
        seen = ids.get(item.hash)
        if seen is not None:
            fates[position] = accepted if seen == position else duplicate
            continue
        if key.view == "order":
            ids[item.hash] = position
            fates[position] = accepted
            changed = True
            _add_status(doc, item)
            continue
        # CounterAggregator.merge, in place, checked: a sum past the store's range rejects the event
        contribution = item.contribution
        state = segments.get(contribution.segment) or {}
        counters = contribution.counters
        for name, value in counters.items():
            if state.get(name, 0) + value > MAX_STORED_INT:
                fates[position] = Fate.REJECTED
                result.rejections[position] = (
                    ReasonCode.VALUE_OUT_OF_RANGE,
                    f"{name} of {key.id} would pass {MAX_STORED_INT:,}, the largest integer a store keeps exactly",
                )
                break
        else:
            for name, value in counters.items():
                state[name] = state.get(name, 0) + value
            segments[contribution.segment] = state
            ids[item.hash] = position
            fates[position] = accepted
            changed = True
    if changed:
        bump(doc, now)
    return doc, changed


_ORDERS = OrderAggregator()


def _add_status(doc: Document, item: PlannedEvent) -> None:
    event: OrderStatus = item.enriched.event  # type: ignore[assignment]
    doc["statuses"] = _ORDERS.add(doc.get("statuses", []), item.enriched)
    doc["store_id"] = event.store_id
