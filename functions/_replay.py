"""`POST /api/dlq/replay`: bounded, resumable replay rounds over the HTTP API.

One call replays at most ``limit`` open letters (<= `MAX_LETTERS`) in batches of
``batch_size``, so it ends well inside the HTTP timeout, and answers with what it did
and what is left. A *round* is named by ``started_at`` (the first call's time, echoed
in every answer): letters attempted since then are not picked again, so a client
repeats the same body with that ``started_at`` until ``done`` is true, and a letter
that fails again is tried once per round, not forever. Calling again is always safe:
a letter applied before a timeout counts once (its event id is held) and resolves.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions._http import BadRequest
from shared.engine.documents import stamp
from shared.handlers.dead_letters import (
    DEAD_LETTERS_CONTAINER,
    ReplayResult,
    list_dead_letters,
    replay_dead_letters,
)
from shared.handlers.ingest import IngestHandler
from shared.handlers.replay_history import with_history
from shared.stores.port import Document, DocumentStore
from shared.timestamps import parse_rfc3339
from shared.topology import SOURCES

__all__ = ["MAX_LETTERS", "replay_round"]

logger = logging.getLogger(__name__)

MAX_LETTERS = 1000
"""Per request: keeps a replay well inside the HTTP timeout."""
DEFAULT_LIMIT = 500
DEFAULT_BATCH = 100
_FIELDS = ("ids", "source", "reason", "limit", "batch_size", "started_at")


@dataclass(frozen=True, slots=True)
class _Selection:
    ids: list[str] | None
    source: str | None
    reason: str | None
    limit: int
    batch_size: int
    started_at: str


def replay_round(store: DocumentStore, handler: IngestHandler, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Replay the next letters of the round described by `body`; the answer says what is left."""
    selection = _parse(body, now)
    letters = _open_in_round(store, selection)[: selection.limit]

    def progress(result: ReplayResult) -> None:
        logger.info("dlq replay: %d/%d replayed, %d resolved", result.replayed, result.selected, result.resolved)

    result = replay_dead_letters(store, handler, letters, now, batch_size=selection.batch_size, on_progress=progress)
    remaining = len(_open_in_round(store, selection))
    return result.summary() | {"remaining": remaining, "done": remaining == 0, "started_at": selection.started_at}


def _open_in_round(store: DocumentStore, selection: _Selection) -> list[Document]:
    """Open letters of the selection not attempted since the round started (oldest first)."""
    if selection.ids is None:
        letters = list_dead_letters(store, source=selection.source, reason=selection.reason)
        letters.reverse()
    else:
        found = (store.query(DEAD_LETTERS_CONTAINER, where={"id": i}, limit=1) for i in dict.fromkeys(selection.ids))
        letters = with_history(store, DEAD_LETTERS_CONTAINER, [doc for docs in found for doc in docs])
        letters = [doc for doc in letters if doc.get("status", "open") == "open"]
        letters = [d for d in letters if selection.source in (None, d["source"])]
        letters = [d for d in letters if selection.reason in (None, d["reason_code"])]
    return [d for d in letters if not any(a["at"] >= selection.started_at for a in d.get("replays", []))]


def _parse(body: dict[str, Any], now: datetime) -> _Selection:
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise BadRequest(unknown[0], f"unknown field {unknown[0]!r}: use {', '.join(_FIELDS)}")
    ids, source, reason = body.get("ids"), body.get("source"), body.get("reason")
    if ids is None and source is None and reason is None:
        raise BadRequest(None, "choose the letters to replay: give 'ids', 'source' and/or 'reason'")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or not ids):
        raise BadRequest("ids", "'ids' must be a non-empty list of dead-letter ids")
    if source is not None and source not in SOURCES:
        raise BadRequest("source", f"'source' must be one of {', '.join(SOURCES)}, not {source!r}")
    if reason is not None and not isinstance(reason, str):
        raise BadRequest("reason", "'reason' must be a reason code such as unknown_currency")
    limit = _whole(body, "limit", DEFAULT_LIMIT)
    batch_size = _whole(body, "batch_size", DEFAULT_BATCH)
    started = body.get("started_at")
    if started is None:
        return _Selection(ids, source, reason, limit, batch_size, stamp(now))
    try:
        return _Selection(ids, source, reason, limit, batch_size, stamp(parse_rfc3339(str(started))))
    except ValueError:
        raise BadRequest("started_at", "'started_at' must be the RFC 3339 time an earlier answer gave") from None


def _whole(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_LETTERS:
        raise BadRequest(name, f"'{name}' must be a whole number from 1 to {MAX_LETTERS}")
    return value
