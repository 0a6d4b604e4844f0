"""The ingest handler: one batch of one source's partition, from raw bytes to applied views.

decode + validate -> enrich -> primary documents (exactly once) -> flow counts ->
dead letters -> audit -> progress (last). Bad input never raises; a transient store
fault raises `TransientStoreError` so the host retries the batch, and a retry is safe.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from operator import attrgetter

from shared.engine.apply import Fate, PlannedEvent, apply_primary
from shared.engine.documents import event_hashes, positions
from shared.engine.event_ids import Claimant, Claims, claim_event_ids, registry_ttl
from shared.engine.flow import FlowRecord, apply_flow, flow_key, window_of
from shared.engine.progress import (
    AUDIT_CONTAINER,
    audit_document,
    check_redelivery,
    checksum,
    read_progress,
    write_progress,
)
from shared.engine.views import contribution_of
from shared.handlers.ports import BatchOutcome
from shared.pipeline.dead_letters import DeadLetter, ReasonCode, dead_letter
from shared.pipeline.enrichment import Enricher
from shared.pipeline.freshness import complete_at
from shared.pipeline.limits import Limits
from shared.pipeline.raw import RawEvent
from shared.pipeline.sealing import BodySealer
from shared.pipeline.validation import validate_batch
from shared.stores.port import Document, DocumentStore, WriteOp
from shared.stores.updates import update_documents
from shared.topology import Source

__all__ = ["IngestHandler", "MissingPositionError"]

_PARTITION, _SEQUENCE = attrgetter("partition"), attrgetter("sequence_number")


class MissingPositionError(ValueError):
    """A message without partition or sequence number: exactly-once needs both, so fail loudly."""


class IngestHandler:
    """Callable `BatchHandler` over a document store."""

    def __init__(
        self, store: DocumentStore, enricher: Enricher, limits: Limits | None = None, sealer: BodySealer | None = None
    ) -> None:
        self._store = store
        self._enricher = enricher
        self._limits = limits or Limits()
        self._id_ttl_s = registry_ttl(self._limits)
        self.sealer = sealer or BodySealer.ephemeral()
        """Seals dead-letter bodies (and opens them for replay)."""

    def with_store(self, store: DocumentStore) -> IngestHandler:
        """The same handler (reference data, limits) writing through `store`."""
        return IngestHandler(store, self._enricher, self._limits, self.sealer)

    def __call__(self, source: Source, raws: Sequence[RawEvent], now: datetime) -> BatchOutcome:
        """Apply one batch (messages of one partition in sequence order)."""
        if not raws:
            return BatchOutcome(source, 0, 0, 0, 0, 0, 0)
        partition = _partition_of(raws)
        progress = read_progress(self._store, source, partition)
        last_seq = -1 if progress is None else int(progress["last_seq"])
        if min(map(_SEQUENCE, raws)) > last_seq:
            fresh = list(raws)  # the common case: nothing of this batch was applied before
        else:
            fresh = [raw for raw in raws if raw.sequence_number > last_seq]  # type: ignore[operator]
            for raw in raws:  # a message at or below the progress must be a redelivery, never a new one
                check_redelivery(progress, source, partition, raw.sequence_number, raw.enqueued_time)  # type: ignore[arg-type]
        replayed = len(raws) - len(fresh)
        if not fresh:
            return BatchOutcome(source, len(raws), 0, 0, 0, replayed, 0)

        validated = validate_batch(source, fresh, now, self._limits)
        enriched = self._enricher.enrich(source, validated.accepted, now)
        dead_letters = validated.dead_letters + enriched.dead_letters
        events = enriched.enriched
        # One PlannedEvent per event, built column by column (_partition_of checked every sequence number).
        planned = list(
            map(
                PlannedEvent,
                events,
                map(contribution_of, events),
                event_hashes([e.event.event_id for e in events]),
                positions(partition, [e.raw.sequence_number for e in events]),  # type: ignore[misc]
            )
        )
        received = _ReceivedText(now)
        claims = claim_event_ids(
            self._store,
            source,
            [Claimant(p.enriched.event.event_id, p.position, p.enriched.raw.body, received(p)) for p in planned],
            self._id_ttl_s,
        )
        primary = apply_primary(self._store, _owned(planned, claims), now)
        primary.documents_written += claims.written
        primary.fates.update(dict.fromkeys(claims.duplicates, Fate.DUPLICATE))
        for position, reason in claims.conflicts.items():
            primary.fates[position] = Fate.REJECTED
            primary.rejections[position] = (ReasonCode.CONFLICTING_DUPLICATE, reason)
        if primary.rejections:  # isolated: dead letters with the reason, the rest of the batch applied
            dead_letters = dead_letters + [
                dead_letter(source, p.enriched.raw, *primary.rejections[p.position], now, p.enriched.event.event_id)
                for p in planned
                if p.position in primary.rejections
            ]
        windows = _flow_records(planned, primary.fates, dead_letters, fresh, now)
        written = primary.documents_written + self._write_flow(source, partition, windows, now)
        if dead_letters:
            results = self._store.write_many(
                "deadletters", [WriteOp.upsert(d.to_document(self.sealer)) for d in dead_letters]
            )
            written += sum(1 for r in results if r.ok)

        fates = Counter(primary.fates.values())
        reasons = Counter(d.reason_code.value for d in dead_letters)
        counts = {
            "received": len(fresh),
            "accepted": fates[Fate.ACCEPTED],
            "dead_lettered": len(dead_letters),
            "duplicates": fates[Fate.DUPLICATE],
            "batches": 1,
        }
        accepted_ids = [p.enriched.event.event_id for p in planned if primary.fates[p.position] is Fate.ACCEPTED]
        first, last = fresh[0].sequence_number, fresh[-1].sequence_number
        counts["documents_written"] = written + 2  # + the audit and progress documents below
        audit = audit_document(source, partition, first, last, counts, checksum(accepted_ids), now)  # type: ignore[arg-type]
        self._store.upsert(AUDIT_CONTAINER, audit | {"dead_letters_by_reason": dict(reasons)})
        write_progress(self._store, progress, source, partition, last, counts, now, fresh[-1].enqueued_time)  # type: ignore[arg-type]
        return BatchOutcome(
            source,
            received=len(raws),
            accepted=counts["accepted"],
            dead_lettered=counts["dead_lettered"],
            duplicates=counts["duplicates"],
            replayed=replayed,
            documents_written=counts["documents_written"],
            dead_letters_by_reason=dict(reasons),
        )

    def _write_flow(self, source: str, partition: str, by_window: dict[str, list[FlowRecord]], now: datetime) -> int:
        keys = {(key := flow_key(source, partition, window)).id: key for window in by_window}

        def update(doc_id: str, current: Document | None) -> Document | None:
            key = keys[doc_id]
            return apply_flow(current, key, partition, by_window[key.window], now)

        return update_documents(self._store, "views", {i: k.pk for i, k in keys.items()}, update, keep=False).count


class _ReceivedText:
    """An event's receipt as text: its message's enqueued time (else `now`), formatted once per distinct time.

    A batch's messages share a few enqueued times (one per append), and ``isoformat``
    per event was 2 % of a loaded host's time.
    """

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._texts: dict[datetime, str] = {}

    def __call__(self, item: PlannedEvent) -> str:
        moment = item.enriched.raw.enqueued_time or self._now
        text = self._texts.get(moment)
        if text is None:
            text = self._texts[moment] = moment.isoformat()
        return text


def _owned(planned: list[PlannedEvent], claims: Claims) -> list[PlannedEvent]:
    """The events whose message owns their event id (copies are settled by the registry)."""
    if not claims.duplicates and not claims.conflicts:
        return planned
    return [p for p in planned if p.position not in claims.duplicates and p.position not in claims.conflicts]


def _partition_of(raws: Sequence[RawEvent]) -> str:
    partition = raws[0].partition
    if partition is None or set(map(_PARTITION, raws)) != {partition} or None in map(_SEQUENCE, raws):
        raise MissingPositionError(
            "every message of a batch needs the same partition and a sequence number (trigger metadata missing?)"
        )
    return partition


def _flow_records(
    planned: list[PlannedEvent],
    fates: dict[str, Fate],
    dead_letters: Sequence[DeadLetter],
    raws: Sequence[RawEvent],
    now: datetime,
) -> dict[str, list[FlowRecord]]:
    """Each message's outcome as a flow record, grouped by its flow window (the enqueued minute)."""
    now_s = now.timestamp()
    by_window: dict[str, list[FlowRecord]] = {}
    accepted, rejected = Fate.ACCEPTED, Fate.REJECTED
    for item in planned:  # once per event: plain tuples in FlowRecord's field order
        enriched = item.enriched
        raw = enriched.raw
        enqueued = raw.enqueued_time or now
        window = window_of(enqueued)
        records = by_window.get(window)
        if records is None:
            records = by_window[window] = []
        fate = fates[item.position]
        if fate is rejected:
            continue  # counted with the dead letters below
        if fate is accepted:
            lag_ms = int((now_s - complete_at(enriched.event, enriched.event_time).timestamp()) * 1000)
            issues = tuple(i.code.value for i in enriched.issues) if enriched.issues else ()
            records.append((raw.sequence_number, enqueued, "accepted", lag_ms if lag_ms > 0 else 0, issues))  # type: ignore[arg-type]
        else:
            records.append((raw.sequence_number, enqueued, fate.value, None, ()))  # type: ignore[arg-type]
    if dead_letters:
        enqueued_at = {raw.sequence_number: raw.enqueued_time or now for raw in raws}
        for letter in dead_letters:
            seq = letter.sequence_number
            enqueued = enqueued_at[seq]
            record = (seq, enqueued, f"dead_letter:{letter.reason_code.value}", None, ())
            by_window.setdefault(window_of(enqueued), []).append(record)  # type: ignore[arg-type]
    return by_window
