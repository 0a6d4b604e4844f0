"""The live page in Azure: the same files as `pulse demo`, polling the snapshot instead of streaming.

=================================  =========  ===========================================
route                              who        does
=================================  =========  ===========================================
GET  /api/live                     signed in  the page (polls ``/api/snapshot`` every 5 s)
GET  /api/live/static/{*name}      signed in  ``live.js``, ``live.css``, ``vendor/chart.umd.js``
GET  /api/snapshot                 signed in  tiles, 60-minute series, breakdown (``region``, ``store``)
=================================  =========  ===========================================

Without a principal the page redirects to the Entra ID sign-in and the others answer
401 (App Service Authentication normally does this before the app is reached). A
manager without the Viewer role is sent to its own region or store, the snapshot
refuses anything outside its scope (403), and the filter lists hold only its scope.
"""

# No `from __future__ import annotations` here: the worker resolves these annotations to pick converters.
import azure.functions as func

from functions._auth import caller, sign_in_redirect
from functions._http import BadRequest, json_response, optional_text, respond
from functions._runtime import now, runtime
from shared.access import Access, Forbidden, Unauthenticated
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
    """The dashboard page, wired to this app's snapshot URL; sign-in first, then the caller's own scope."""
    here = f"/api/{LIVE_PAGE_ROUTE}"

    def run() -> func.HttpResponse:
        try:
            access = caller(req, now())
        except Unauthenticated:
            return sign_in_redirect(here)
        if not access.reads_kpis:
            raise Forbidden("your account holds no role that shows figures (Viewer, RegionManager, StoreManager)")
        region, store_id = req.params.get("region"), req.params.get("store")
        if not access.chain and not (region or store_id):
            return func.HttpResponse(status_code=302, headers={"Location": f"{here}?{_own_scope(access)}"})
        if store_id:
            access.check("store", store_id)
        elif region:
            access.check("region", region)
        html = page_html(snapshot_url="/api/snapshot", events_url="", static_base=f"{here}/static", poll_ms=POLL_MS)
        return func.HttpResponse(html, mimetype="text/html", charset="utf-8", headers={"Cache-Control": "no-store"})

    return respond(run, "live_page")


def _own_scope(access: Access) -> str:
    """The query of a manager's first region, else first store."""
    if access.regions:
        return f"region={min(access.regions)}"
    return f"store={min(access.stores)}"


@bp.function_name("live_static")
@bp.route(route=LIVE_PAGE_ROUTE + "/static/{*name}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def live_static(req: func.HttpRequest) -> func.HttpResponse:
    """One of the page's files (a fixed list: no request path reaches the file system)."""

    def run() -> func.HttpResponse:
        caller(req, now())  # no figures in these files, but nothing is served to a caller not signed in
        try:
            body, content_type = read_asset(req.route_params.get("name", ""))
        except AssetNotFound:
            return json_response({"error": {"code": "not_found", "message": "no such page file"}}, 404)
        return func.HttpResponse(body, mimetype=content_type, headers={"Cache-Control": "private, max-age=300"})

    return respond(run, "live_static")


@bp.function_name("snapshot")
@bp.route(route="snapshot", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def snapshot(req: func.HttpRequest) -> func.HttpResponse:
    """The page's data: tiles for today, the last 60 minutes and the breakdown, for a region or store."""

    def run() -> func.HttpResponse:
        access = caller(req, now())
        region, store_id = optional_text(req.params, "region"), optional_text(req.params, "store")
        pipeline = runtime().pipeline
        try:
            body = snapshot_json(pipeline.store, now(), region, store_id, reference=pipeline.reference, access=access)
        except UnknownFilter as exc:
            raise BadRequest("store" if store_id else "region", str(exc)) from None
        return json_response(body)

    return respond(run, "snapshot")
