"""The HTTP API: KPI rows, pipeline health, and the dead-letter queue.

=====================  ========  ==============================================
route                  auth      does
=====================  ========  ==============================================
GET  /api/kpis         anonymous KPI rows (``scope``, ``grain``, ``key``, ``from``, ``to``)
GET  /api/health       anonymous freshness, dead-letter rate, last batch per source
GET  /api/dlq          function  dead letters (raw bytes only with ``raw=true``)
POST /api/dlq/replay   function  replay letters chosen by ids, source and/or reason (bounded rounds)
=====================  ========  ==============================================

KPIs and health are read-only aggregates without personal data, so a dashboard tile
or an uptime probe can call them without a key. Dead letters hold the raw bytes of
rejected events (which may carry an un-pseudonymised customer id) and a replay
writes, so both need a function key. Bad parameters get a 400 naming the parameter.
"""

# No `from __future__ import annotations` here: the worker resolves these annotations to pick converters.

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
    window_bound,
)
from functions._replay import MAX_LETTERS, replay_round
from functions._runtime import now, runtime
from shared.handlers.dead_letters import list_dead_letters
from shared.kpis.formulas import row_to_json
from shared.kpis.state import GRAINS, SCOPES
from shared.rollups.query import kpi_rows
from shared.stores.port import Document
from shared.topology import SOURCES

__all__ = ["DEFAULT_STALE_AFTER_S", "MAX_LETTERS", "bp"]

bp = func.Blueprint()  # type: ignore[no-untyped-call]

DEFAULT_STALE_AFTER_S = 3600
"""A source with no batch for an hour is ``stale`` (cost records arrive hourly); override with ``stale_after``."""
_STATUSES = ("open", "resolved", "all")


@bp.function_name("kpis")
@bp.route(route="kpis", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def kpis(req: func.HttpRequest) -> func.HttpResponse:
    """KPI rows of one scope and grain, ordered by key then window; ``from <= window < to``."""

    def run() -> func.HttpResponse:
        params = req.params
        scope, grain = choice(params, "scope", SCOPES), choice(params, "grain", GRAINS)
        window_from, window_to = window_bound(params, "from", grain), window_bound(params, "to", grain)
        if window_from is not None and window_to is not None and window_from >= window_to:
            raise BadRequest("to", "'to' must be after 'from' (the range is from <= window < to)")
        rows = kpi_rows(
            runtime().pipeline.store, scope, grain, now(),
            key=optional_text(params, "key"), window_from=window_from, window_to=window_to,
        )  # fmt: skip
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
    """Replay the next open letters chosen by ids, source and/or reason, in bounded batches (see `_replay`)."""

    def run() -> func.HttpResponse:
        pipeline = runtime().pipeline
        return json_response(replay_round(pipeline.store, pipeline.ingest, json_body(req), now()))

    return respond(run, "dlq_replay")


def _public(doc: Document, with_raw: bool) -> Document:
    return {k: v for k, v in doc.items() if not k.startswith("_") and (with_raw or k != "raw_b64")}
