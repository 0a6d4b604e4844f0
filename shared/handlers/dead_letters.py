"""Inspect and replay dead letters. A replay sends the exact raw bytes through the same ingest
handler under the pseudo-partition ``replay``; the event ids in the views keep it exactly-once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.engine.documents import stamp
from shared.engine.progress import read_progress
from shared.handlers.ports import BatchHandler
from shared.pipeline.dead_letters import DeadLetter, dead_letter_id
from shared.pipeline.raw import RawEvent
from shared.pipeline.sealing import BodySealer
from shared.stores.port import Document, DocumentStore
from shared.topology import SOURCES, Source

__all__ = ["DEAD_LETTERS_CONTAINER", "REPLAY_PARTITION", "ReplayResult", "list_dead_letters", "replay_dead_letters"]

DEAD_LETTERS_CONTAINER = "deadletters"
REPLAY_PARTITION = "replay"


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What a replay did: resolved letters now count; the others failed again, with the new reason."""

    replayed: int
    resolved: int
    still_failing: int
    by_reason: dict[str, int]


def list_dead_letters(
    store: DocumentStore,
    *,
    source: str | None = None,
    reason: str | None = None,
    status: str | None = "open",
    limit: int | None = None,
) -> list[Document]:
    """Dead letters, newest first; `status` is ``open`` (default), ``resolved`` or None for all."""
    where: dict[str, Any] = {}
    if source is not None:
        where["source"] = source
    if reason is not None:
        where["reason_code"] = reason
    docs = store.query(DEAD_LETTERS_CONTAINER, where=where, order_by="-rejected_at")
    docs = [d for d in docs if status is None or d.get("status", "open") == status]
    return docs[:limit] if limit is not None else docs


def replay_dead_letters(
    store: DocumentStore, handler: BatchHandler, letters: Sequence[Document], now: datetime, sealer: BodySealer
) -> ReplayResult:
    """Replay `letters` (open ones) through `handler`; mark each resolved or failed again.

    The one place a sealed body is opened (with `sealer`, the ingest handler's).
    """
    resolved = failing = 0
    reasons: dict[str, int] = {}
    by_source: dict[Source, list[Document]] = {}
    for doc in letters:
        if doc.get("status", "open") == "open" and doc["source"] in SOURCES:
            by_source.setdefault(doc["source"], []).append(doc)
    for source, docs in by_source.items():
        progress = read_progress(store, source, REPLAY_PARTITION)
        first = 0 if progress is None else int(progress["last_seq"]) + 1
        raws = [
            RawEvent(DeadLetter.from_document(doc, sealer).raw, REPLAY_PARTITION, first + i, f"replay:{doc['id']}", now)
            for i, doc in enumerate(docs)
        ]
        handler(source, raws, now)
        for i, (raw, doc) in enumerate(zip(raws, docs, strict=True)):
            again_id = dead_letter_id(source, REPLAY_PARTITION, first + i)
            again = store.read(DEAD_LETTERS_CONTAINER, doc["pk"], again_id) or _find(store, again_id)
            updated = {k: v for k, v in doc.items() if not k.startswith("_")}
            attempt = {"at": stamp(now), "position": f"{REPLAY_PARTITION}:{raw.sequence_number}"}
            if again is None:
                updated["status"] = "resolved"
                resolved += 1
            else:
                attempt["reason_code"], attempt["reason"] = again["reason_code"], again["reason"]
                updated["reason_code"], updated["reason"] = again["reason_code"], again["reason"]
                reasons[again["reason_code"]] = reasons.get(again["reason_code"], 0) + 1
                store.delete(DEAD_LETTERS_CONTAINER, again["pk"], again["id"])  # the original keeps the story
                failing += 1
            updated["replays"] = [*doc.get("replays", []), attempt]
            store.upsert(DEAD_LETTERS_CONTAINER, updated)
    return ReplayResult(resolved + failing, resolved, failing, reasons)


def _find(store: DocumentStore, doc_id: str) -> Document | None:
    found = store.query(DEAD_LETTERS_CONTAINER, where={"id": doc_id}, limit=1)
    return found[0] if found else None
