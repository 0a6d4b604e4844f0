"""The HTTP API: KPI rows, pipeline health, and the dead-letter queue.

=====================  =============  ================================================================
route                  who            does
=====================  =============  ================================================================
GET  /api/kpis         signed in      KPI rows (``scope``, ``grain``, ``key``, ``from``, ``to``) in the caller's scope
GET  /api/health       anyone         per-source status and age, no volumes (a signed-in Viewer or Operator: all)
GET  /api/dlq          Operator       dead letters, personal fields masked, never the body bytes
POST /api/dlq/replay   Operator       replay letters chosen by ids, source and/or reason, in bounded rounds
=====================  =============  ================================================================

Sign-in is App Service Authentication with Microsoft Entra ID in front of the app
(docs/deploy.md); the routes are ``ANONYMOUS`` to the Functions host because a
function key is a shared secret without an identity, and the app itself enforces
who may read what (`functions._auth`, `shared.access`): no principal -> 401, out of
scope -> 403 naming the scope. Every dead-letter list and replay is written to the
access log. Bad parameters get a 400 naming the parameter.
"""

# No `from __future__ import annotations` here: the worker resolves these annotations to pick converters.

from typing import Any

import azure.functions as func

from functions._auth import PRINCIPAL_HEADER, caller
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
from functions._outputs import outputs
from functions._replay import MAX_LETTERS, replay_round
from functions._runtime import now, runtime
from shared.access import Unauthenticated
from shared.handlers.dead_letters import list_dead_letters
from shared.handlers.dlq_access import masked_letter, record_access
from shared.kpis.formulas import row_to_json
from shared.kpis.state import GRAINS, SCOPES
from shared.rollups.selection import BoundError, select_kpi_rows
from shared.topology import SOURCES

__all__ = ["DEFAULT_STALE_AFTER_S", "MAX_LETTERS", "bp"]

bp = func.Blueprint()  # type: ignore[no-untyped-call]

DEFAULT_STALE_AFTER_S = 3600
"""A source with no batch for an hour is ``stale`` (cost records arrive hourly); override with ``stale_after``."""
_STATUSES = ("open", "resolved", "all")


@bp.function_name("kpis")
@bp.route(route="kpis", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def kpis(req: func.HttpRequest) -> func.HttpResponse:
    """KPI rows of one scope and grain, ordered by key then window; ``from <= window < to``.

    The bounds follow `shared.rollups.selection`, the rule `pulse kpis` uses too.
    """

    def run() -> func.HttpResponse:
        access = caller(req, now())
        params = req.params
        scope, grain = choice(params, "scope", SCOPES), choice(params, "grain", GRAINS)
        pipeline = runtime().pipeline
        key = optional_text(params, "key")
        access.check(scope, key)
        try:
            rows = select_kpi_rows(
                pipeline.store, pipeline.reference, scope, grain, now(),
                key=key, window_from=params.get("from"), window_to=params.get("to"),
            )  # fmt: skip
        except BoundError as exc:
            raise BadRequest(exc.parameter, str(exc)) from None
        mine = rows if access.chain else [row for row in rows if access.may_read(scope, row["key"])]
        return json_response(b"[" + b",".join(row_to_json(row) for row in mine) + b"]")

    return respond(run, "kpis")


@bp.function_name("health")
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Freshness per source from the progress documents; the recent dead-letter rate from the flow documents."""

    def run() -> func.HttpResponse:
        stale_after = optional_int(req.params, "stale_after", DEFAULT_STALE_AFTER_S, 1, 7 * 86_400)
        summary = health_summary(runtime().pipeline.store, now(), stale_after)
        body = summary | {"outputs": outputs().health()} if _sees_volumes(req) else anonymous_health(summary)
        return json_response(body)

    return respond(run, "health")


@bp.function_name("dlq_list")
@bp.route(route="dlq", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def dlq_list(req: func.HttpRequest) -> func.HttpResponse:
    """Dead letters, newest first, filtered by ``source``, ``reason`` and ``status`` (open by default); masked."""

    def run() -> func.HttpResponse:
        access = caller(req, now())
        access.check_operator()
        params = req.params
        if "raw" in params:
            raise BadRequest("raw", "dead-letter bodies are sealed at rest; only a replay opens them")
        status = choice(params, "status", _STATUSES, default="open")
        source, reason = optional_choice(params, "source", SOURCES), optional_text(params, "reason")
        limit = optional_int(params, "limit", 100, 1, MAX_LETTERS)
        store = runtime().pipeline.store
        letters = list_dead_letters(
            store, source=source, reason=reason, status=None if status == "all" else status, limit=limit
        )
        filters = {"source": source, "reason": reason, "status": status, "limit": limit}
        record_access(store, access.who, "list", filters, len(letters), now())
        return json_response({"count": len(letters), "letters": [masked_letter(doc) for doc in letters]})

    return respond(run, "dlq_list")


@bp.function_name("dlq_replay")
@bp.route(route="dlq/replay", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def dlq_replay(req: func.HttpRequest) -> func.HttpResponse:
    """Replay the next open letters chosen by ids, source and/or reason, in bounded batches (see `_replay`)."""

    def run() -> func.HttpResponse:
        access = caller(req, now())
        access.check_operator()
        pipeline = runtime().pipeline
        body = json_body(req)
        result: dict[str, Any] | None = None
        try:
            result = replay_round(pipeline.store, pipeline.ingest, body, now())
            return json_response(result)
        finally:  # a failed replay is logged too (with no letter counted)
            selected = 0 if result is None else int(result["selected"])
            record_access(pipeline.store, access.who, "replay", body, selected, now())

    return respond(run, "dlq_replay")


_ANONYMOUS_SOURCE_FIELDS = ("status", "age_s", "last_batch_at", "dead_letter_rate")


def anonymous_health(summary: dict[str, Any]) -> dict[str, Any]:
    """Health without a business figure: per source its status, age and dead-letter *rate*, no counts."""
    sources = {
        source: {name: entry[name] for name in _ANONYMOUS_SOURCE_FIELDS if name in entry}
        for source, entry in summary["sources"].items()
    }
    return {**{k: v for k, v in summary.items() if k != "sources"}, "sources": sources}


def _sees_volumes(req: func.HttpRequest) -> bool:
    """A signed-in Viewer or Operator gets the counts; anyone else (health stays anonymous) does not."""
    if not req.headers.get(PRINCIPAL_HEADER):
        return False
    try:
        access = caller(req, now())
    except Unauthenticated:  # a malformed principal on the anonymous route: the anonymous view
        return False
    return access.chain or access.operator
