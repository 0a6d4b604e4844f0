"""The HTTP API: KPI rows, pipeline health, and the dead-letter queue.

=====================  ========  ==============================================
route                  auth      does
=====================  ========  ==============================================
GET  /api/kpis         anonymous KPI rows (``scope``, ``grain``, ``key``, ``from``, ``to``)
GET  /api/health       anonymous freshness, dead-letter rate, last batch per source
GET  /api/dlq          function  dead letters (raw bytes only with ``raw=true``)
POST /api/dlq/replay   function  replay letters chosen by ids, source and/or reason
=====================  ========  ==============================================

KPIs and health are read-only aggregates without personal data, so a dashboard tile
or an uptime probe can call them without a key. Dead letters hold the raw bytes of
rejected events (which may carry an un-pseudonymised customer id) and a replay
writes, so both need a function key. Bad parameters get a 400 naming the parameter.
"""

# No `from __future__ import annotations` here: the worker resolves these annotations to pick converters.
from typing import Any

import azure.functions as func

from functions._health import health_summary
from functions._http import (
    BadRequest,
    choice,
    json_body,
    json_response,
    optional_choice,
    optional_int,
    optional_text,
    respond,
)
from functions._runtime import now, runtime
from shared.handlers.dead_letters import DEAD_LETTERS_CONTAINER, list_dead_letters, replay_dead_letters
from shared.kpis.formulas import row_to_json
from shared.kpis.state import GRAINS, SCOPES
from shared.rollups.selection import BoundError, select_kpi_rows
from shared.stores.port import Document
from shared.topology import SOURCES

__all__ = ["DEFAULT_STALE_AFTER_S", "MAX_LETTERS", "bp"]

bp = func.Blueprint()  # type: ignore[no-untyped-call]

DEFAULT_STALE_AFTER_S = 3600
"""A source with no batch for an hour is ``stale`` (cost records arrive hourly); override with ``stale_after``."""
MAX_LETTERS = 1000
"""Per request: keeps a replay well inside the HTTP timeout."""
_STATUSES = ("open", "resolved", "all")


@bp.function_name("kpis")
@bp.route(route="kpis", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def kpis(req: func.HttpRequest) -> func.HttpResponse:
    """KPI rows of one scope and grain, ordered by key then window; ``from <= window < to``.

    The bounds follow `shared.rollups.selection`, the rule `pulse kpis` uses too.
    """

    def run() -> func.HttpResponse:
        params = req.params
        scope, grain = choice(params, "scope", SCOPES), choice(params, "grain", GRAINS)
        pipeline = runtime().pipeline
        try:
            rows = select_kpi_rows(
                pipeline.store, pipeline.reference, scope, grain, now(),
                key=optional_text(params, "key"), window_from=params.get("from"), window_to=params.get("to"),
            )  # fmt: skip
        except BoundError as exc:
            raise BadRequest(exc.parameter, str(exc)) from None
        return json_response(b"[" + b",".join(row_to_json(row) for row in rows) + b"]")

    return respond(run, "kpis")


@bp.function_name("health")
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Freshness per source from the progress documents; the recent dead-letter rate from the flow documents."""

    def run() -> func.HttpResponse:
        stale_after = optional_int(req.params, "stale_after", DEFAULT_STALE_AFTER_S, 1, 7 * 86_400)
        return json_response(health_summary(runtime().pipeline.store, now(), stale_after))

    return respond(run, "health")


@bp.function_name("dlq_list")
@bp.route(route="dlq", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def dlq_list(req: func.HttpRequest) -> func.HttpResponse:
    """Dead letters, newest first, filtered by ``source``, ``reason`` and ``status`` (open by default)."""

    def run() -> func.HttpResponse:
        params = req.params
        status = choice(params, "status", _STATUSES, default="open")
        letters = list_dead_letters(
            runtime().pipeline.store,
            source=optional_choice(params, "source", SOURCES),
            reason=optional_text(params, "reason"),
            status=None if status == "all" else status,
            limit=optional_int(params, "limit", 100, 1, MAX_LETTERS),
        )
        with_raw = choice(params, "raw", ("true", "false"), default="false") == "true"
        return json_response({"count": len(letters), "letters": [_public(doc, with_raw) for doc in letters]})

    return respond(run, "dlq_list")


@bp.function_name("dlq_replay")
@bp.route(route="dlq/replay", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def dlq_replay(req: func.HttpRequest) -> func.HttpResponse:
    """Replay open letters chosen by ``{"ids": [...], "source": ..., "reason": ..., "limit": n}`` (at least one)."""

    def run() -> func.HttpResponse:
        pipeline = runtime().pipeline
        letters = _selected(pipeline.store, json_body(req))
        result = replay_dead_letters(pipeline.store, pipeline.ingest, letters, now())
        return json_response(
            {"selected": len(letters), "replayed": result.replayed, "resolved": result.resolved,
             "still_failing": result.still_failing, "by_reason": result.by_reason}
        )  # fmt: skip

    return respond(run, "dlq_replay")


def _selected(store: Any, body: dict[str, Any]) -> list[Document]:
    unknown = sorted(set(body) - {"ids", "source", "reason", "limit"})
    if unknown:
        raise BadRequest(unknown[0], f"unknown field {unknown[0]!r}: use ids, source, reason and limit")
    ids, source, reason, limit = body.get("ids"), body.get("source"), body.get("reason"), body.get("limit", 500)
    if ids is None and source is None and reason is None:
        raise BadRequest(None, "choose the letters to replay: give 'ids', 'source' and/or 'reason'")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or not ids):
        raise BadRequest("ids", "'ids' must be a non-empty list of dead-letter ids")
    if source is not None and source not in SOURCES:
        raise BadRequest("source", f"'source' must be one of {', '.join(SOURCES)}, not {source!r}")
    if reason is not None and not isinstance(reason, str):
        raise BadRequest("reason", "'reason' must be a reason code such as unknown_currency")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LETTERS:
        raise BadRequest("limit", f"'limit' must be a whole number from 1 to {MAX_LETTERS}")
    if ids is None:
        return list_dead_letters(store, source=source, reason=reason, limit=limit)
    found = [doc for i in dict.fromkeys(ids) for doc in store.query(DEAD_LETTERS_CONTAINER, where={"id": i}, limit=1)]
    chosen = [doc for doc in found if source in (None, doc["source"]) and reason in (None, doc["reason_code"])]
    return [doc for doc in chosen if doc.get("status", "open") == "open"][:limit]


def _public(doc: Document, with_raw: bool) -> Document:
    return {k: v for k, v in doc.items() if not k.startswith("_") and (with_raw or k != "raw_b64")}
