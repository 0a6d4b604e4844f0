"""The live page in Azure: the same files as `pulse demo`, polling the snapshot instead of streaming.

=================================  =========  ===========================================
route                              auth       does
=================================  =========  ===========================================
GET  /api/live                     anonymous  the page (polls ``/api/snapshot`` every 5 s)
GET  /api/live/static/{*name}      anonymous  ``live.js``, ``live.css``, ``vendor/chart.umd.js``
GET  /api/snapshot                 anonymous  tiles, 60-minute series, breakdown (``region``, ``store``)
=================================  =========  ===========================================

Aggregates only, no personal data, like ``/api/kpis``.
"""

# No `from __future__ import annotations` here: the worker resolves these annotations to pick converters.
import azure.functions as func

from functions._http import BadRequest, json_response, optional_text, respond
from functions._runtime import now, runtime
from shared.topology import LIVE_PAGE_ROUTE
from shared.web.assets import AssetNotFound, page_html, read_asset
from shared.web.snapshot import UnknownFilter, snapshot_json

__all__ = ["POLL_MS", "bp"]

bp = func.Blueprint()  # type: ignore[no-untyped-call]

POLL_MS = 5000
"""The page polls; Server-Sent Events need a long-lived connection a consumption plan does not keep."""


@bp.function_name("live_page")
@bp.route(route=LIVE_PAGE_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def live_page(req: func.HttpRequest) -> func.HttpResponse:
    """The dashboard page, wired to this app's snapshot URL."""
    html = page_html(
        snapshot_url="/api/snapshot", events_url="", static_base=f"/api/{LIVE_PAGE_ROUTE}/static", poll_ms=POLL_MS
    )
    return func.HttpResponse(html, mimetype="text/html", charset="utf-8")


@bp.function_name("live_static")
@bp.route(route=LIVE_PAGE_ROUTE + "/static/{*name}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def live_static(req: func.HttpRequest) -> func.HttpResponse:
    """One of the page's files (a fixed list: no request path reaches the file system)."""
    try:
        body, content_type = read_asset(req.route_params.get("name", ""))
    except AssetNotFound:
        return json_response({"error": {"code": "not_found", "message": "no such page file"}}, 404)
    return func.HttpResponse(body, mimetype=content_type, headers={"Cache-Control": "public, max-age=300"})


@bp.function_name("snapshot")
@bp.route(route="snapshot", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def snapshot(req: func.HttpRequest) -> func.HttpResponse:
    """The page's data: tiles for today, the last 60 minutes and the breakdown, for a region or store."""

    def run() -> func.HttpResponse:
        region, store_id = optional_text(req.params, "region"), optional_text(req.params, "store")
        pipeline = runtime().pipeline
        try:
            body = snapshot_json(pipeline.store, now(), region, store_id, reference=pipeline.reference)
        except UnknownFilter as exc:
            raise BadRequest("store" if store_id else "region", str(exc)) from None
        return json_response(body)

    return respond(run, "snapshot")
