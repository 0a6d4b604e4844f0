"""Apply a batch's contributions to their primary documents, exactly once.

The event-id registry (`event_ids.py`) has already settled producer copies: every
event that reaches this module is owned by its own message. What is left is to add
each one once although a batch may be delivered again (a redelivery, or a replay
after a crash between two writes). A batch holds messages of one partition in
sequence order and each document is written once per batch, so a document keeps per
partition the highest sequence number it has taken in (`applied`, as flow documents
do): an event at or below it was taken in by an earlier attempt and is skipped, still
*accepted*. An event refused at a document (a sum past the stores' range, a document
the store refuses) while a later one was written is remembered in `refused`, so an
earlier attempt's verdict stands. The document stays small whatever its event count:
no per-event id map to read, copy and rewrite at every batch, nor for the change feed
to carry to the rollups. Documents written before the watermark keep their `ids` map
(event-id digest -> position), still honoured.

Every touched document is written once per batch with a conditional write (create,
or replace on its ETag); a lost race re-reads only the losing documents and applies
again.
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
from shared.engine.orders import StatusRecord, minute_versions
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
        updated, changed = _apply_document(current, key, items, items, result, now)
        return updated if changed else None

    for container, keys in by_container.items():
        try:
            result.documents_written += update_documents(store, container, keys, update, keep=False).count
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
            updated, changed = _apply_document(current, key, chunk, items, result, now)
            return updated if changed else None

        return update_documents(store, container, {doc_id: pk}, update, keep=False).count

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
    group: list[PlannedEvent],
    result: PrimaryResult,
    now: datetime,
) -> tuple[Document, bool]:
    """Apply `items` (a chunk of `group`, this batch's events of the document) to its current version."""
    doc = writable(current) if current is not None else new_document(key)
    statuses_before: list[StatusRecord] = list(doc.get("statuses", [])) if key.view == "order" else []
    version_before = int(doc.get("v", 0))
    applied: dict[str, int] = doc["applied"]
    legacy: dict[str, str] = doc.get("ids") or {}
    refused: dict[str, list[str]] = doc.get("refused") or {}
    segments: dict[str, dict[str, int]] = doc["segments"]
    accepted, duplicate, rejected = Fate.ACCEPTED, Fate.DUPLICATE, Fate.REJECTED
    fates = result.fates
    changed = False
    partition = items[0].enriched.raw.partition or ""
    watermark = applied.get(partition, -1)
    highest = watermark
    for item in items:  # once per event: kept flat on purpose
        position = item.position
        sequence: int = item.enriched.raw.sequence_number  # type: ignore[assignment]
        if sequence <= watermark:  # taken in by an earlier attempt of this batch
            verdict = refused.get(position)
            if verdict is None:
                fates[position] = accepted
            else:
                fates[position] = rejected
                result.rejections[position] = (ReasonCode(verdict[0]), verdict[1])
            continue
        if sequence > highest:
            highest = sequence
        if legacy:
            seen = legacy.get(item.hash)
            if seen is not None:
                fates[position] = accepted if seen == position else duplicate
                continue
        if key.view == "order":
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
                fates[position] = rejected
                result.rejections[position] = (
                    ReasonCode.VALUE_OUT_OF_RANGE,
                    f"{name} of {key.id} would pass {MAX_STORED_INT:,}, the largest integer a store keeps exactly",
                )
                break
        else:
            for name, value in counters.items():
                state[name] = state.get(name, 0) + value
            segments[contribution.segment] = state
            fates[position] = accepted
            changed = True
    if changed:
        applied[partition] = highest
        _remember_refused(doc, group, result, highest)
        bump(doc, now)
        if key.view == "order":
            doc["minute_v"] = minute_versions(
                statuses_before, doc["statuses"], doc.get("minute_v"), version_before, doc["v"]
            )
    return doc, changed


def _remember_refused(doc: Document, group: list[PlannedEvent], result: PrimaryResult, highest: int) -> None:
    """Keep the verdict of each event of `group` refused at or below the new watermark (rare)."""
    if not result.rejections:
        return
    for item in group:
        verdict = result.rejections.get(item.position)
        if verdict is not None and item.enriched.raw.sequence_number <= highest:  # type: ignore[operator]
            doc.setdefault("refused", {})[item.position] = [verdict[0].value, verdict[1]]


_ORDERS = OrderAggregator()


def _add_status(doc: Document, item: PlannedEvent) -> None:
    event: OrderStatus = item.enriched.event  # type: ignore[assignment]
    doc["statuses"] = _ORDERS.add(doc.get("statuses", []), item.enriched)
    doc["store_id"] = event.store_id
