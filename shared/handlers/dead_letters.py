"""Inspect and replay dead letters.

A replay sends the letters' exact raw bytes through the ingest handler's batch path
(validation, enrichment, one apply per batch) under the pseudo-partition ``replay``
of their source; the event ids in the views keep it exactly-once. A batch holds
letters of one source first received at one processing time, and is judged as of
that time (the ``rejected_at`` of the first attempt, with each message's enqueued
time): fixing the cause a day later does not turn a letter into ``too_late``. A
letter keeps its first reason (``reason_code``, ``reason``); a replay records its
attempts in one document per batch (`replay_history`), folded into the letters on read.
"""

from __future__ import annotations

import binascii
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.engine.documents import stamp
from shared.engine.progress import read_progress
from shared.handlers.ingest import IngestHandler
from shared.handlers.replay_history import Attempt, batch_document, with_history
from shared.handlers.set_aside import SetAsideStore
from shared.pipeline.raw import RawEvent
from shared.pipeline.sealing import BodySealer
from shared.stores.port import Document, DocumentStore
from shared.topology import SOURCES, Source

__all__ = [
    "DEAD_LETTERS_CONTAINER",
    "REPLAY_PARTITION",
    "ReplayResult",
    "list_dead_letters",
    "replay_dead_letters",
]

DEAD_LETTERS_CONTAINER = "deadletters"
REPLAY_PARTITION = "replay"
REPLAY_BATCH_SIZE = 1000


@dataclass(slots=True)
class ReplayResult:
    """What a replay did so far: resolved letters now count; the others failed again (reasons counted)."""

    selected: int
    replayed: int = 0
    resolved: int = 0
    still_failing: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    """Letters another replay took at the same moment: left open and untouched, for the next call."""
    batches: int = 0
    elapsed_s: float = 0.0

    @property
    def events_per_s(self) -> float | None:
        return self.replayed / self.elapsed_s if self.elapsed_s > 0 else None

    def summary(self) -> dict[str, Any]:
        """The JSON summary both hosts print."""
        rate = self.events_per_s
        return {
            "selected": self.selected,
            "replayed": self.replayed,
            "resolved": self.resolved,
            "still_failing": self.still_failing,
            "by_reason": dict(sorted(self.by_reason.items())),
            "skipped": self.skipped,
            "batches": self.batches,
            "elapsed_s": round(self.elapsed_s, 3),
            "events_per_s": None if rate is None else round(rate),
        }


def list_dead_letters(
    store: DocumentStore,
    *,
    source: str | None = None,
    reason: str | None = None,
    status: str | None = "open",
    limit: int | None = None,
    newest_first: bool = True,
) -> list[Document]:
    """Dead letters, newest first (or in any order, which is cheaper); `reason` matches the first reason;
    `status` is ``open``, ``resolved`` or None."""
    where: dict[str, Any] = {}
    if source is not None:
        where["source"] = source
    if reason is not None:
        where["reason_code"] = reason
    found = store.query(DEAD_LETTERS_CONTAINER, where=where, order_by="-rejected_at" if newest_first else None)
    docs = with_history(store, DEAD_LETTERS_CONTAINER, found)
    docs = [d for d in docs if status is None or d.get("status", "open") == status]
    return docs[:limit] if limit is not None else docs


def replay_dead_letters(
    store: DocumentStore,
    handler: IngestHandler,
    letters: Sequence[Document],
    now: datetime,
    *,
    batch_size: int = REPLAY_BATCH_SIZE,
    on_progress: Callable[[ReplayResult], None] | None = None,
) -> ReplayResult:
    """Replay the open ones of `letters` through `handler` in batches; mark each resolved or failed again.

    `now` (the replay time) stamps the attempts; each batch is judged as of its letters' first receipt.
    Safe to repeat and to interrupt: a letter applied before a crash is a duplicate the next time.
    The one place a sealed body is opened (with the ingest handler's sealer).
    """
    started = time.monotonic()
    aside = SetAsideStore(store, DEAD_LETTERS_CONTAINER)
    through = handler.with_store(aside)
    batches = list(_batches(letters, batch_size))
    result = ReplayResult(selected=sum(len(docs) for _, _, docs in batches))
    next_seq: dict[Source, int] = {}
    at = stamp(now)
    for source, judged_at, docs in batches:
        if source not in next_seq:
            next_seq[source] = _next_sequence(store, source)
        first = next_seq[source]
        raws = _raws(docs, first, handler.sealer)
        outcome = through(source, raws, judged_at)
        failed = {int(d["sequence_number"]): d for d in aside.take()}
        if outcome.replayed:  # another replay used these positions meanwhile: ours were not applied
            next_seq[source] = _next_sequence(store, source)
            result.skipped += outcome.replayed
        else:
            next_seq[source] = first + len(raws)
        attempts = [
            _attempted(doc, raw, failed.get(raw.sequence_number), result)  # type: ignore[arg-type]
            for raw, doc in list(zip(raws, docs, strict=True))[outcome.replayed :]
        ]
        if attempts:
            store.write_many(DEAD_LETTERS_CONTAINER, [batch_document(source, first + outcome.replayed, at, attempts)])
        result.batches += 1
        result.elapsed_s = time.monotonic() - started
        if on_progress is not None:
            on_progress(result)
    result.elapsed_s = time.monotonic() - started
    return result


def _batches(letters: Sequence[Document], size: int) -> Iterator[tuple[Source, datetime, list[Document]]]:
    """Open letters by source and first-receipt time, in batches of at most `size`."""
    groups: dict[tuple[Source, str], list[Document]] = {}
    for doc in letters:
        if doc.get("status", "open") == "open" and doc["source"] in SOURCES:
            groups.setdefault((doc["source"], doc["rejected_at"]), []).append(doc)
    for (source, rejected_at), docs in sorted(groups.items()):
        docs.sort(key=_position)
        for start in range(0, len(docs), size):
            yield source, datetime.fromisoformat(rejected_at), docs[start : start + size]


def _position(doc: Document) -> tuple[str, int, str]:
    return str(doc.get("partition")), int(doc.get("sequence_number") or 0), doc["id"]


def _raws(docs: list[Document], first: int, sealer: BodySealer) -> list[RawEvent]:
    """The letters as messages of the replay partition from position `first`, enqueued when they first were."""
    times: dict[str, datetime] = {}
    raws = []
    for sequence, doc in enumerate(docs, first):
        text = doc.get("enqueued_at") or doc["rejected_at"]
        enqueued = times.get(text)
        if enqueued is None:
            enqueued = times[text] = datetime.fromisoformat(text)
        body = sealer.open(doc["sealed"], doc["id"]) if "sealed" in doc else binascii.a2b_base64(doc["raw_b64"])
        raws.append(RawEvent(body, REPLAY_PARTITION, sequence, "replay:" + doc["id"], enqueued))
    return raws


def _next_sequence(store: DocumentStore, source: str) -> int:
    progress = read_progress(store, source, REPLAY_PARTITION)
    return 0 if progress is None else int(progress["last_seq"]) + 1


def _attempted(doc: Document, raw: RawEvent, again: Document | None, result: ReplayResult) -> Attempt:
    """This attempt of the letter: resolved, or failed again with the reason of this attempt."""
    result.replayed += 1
    position = f"{REPLAY_PARTITION}:{raw.sequence_number}"
    if again is None:
        result.resolved += 1
        return doc["id"], position, "resolved", None, None
    code = again["reason_code"]
    result.by_reason[code] = result.by_reason.get(code, 0) + 1
    result.still_failing += 1
    return doc["id"], position, "failed", code, again["reason"]
