"""The Function App's side of sign-in: the caller's `Access` from App Service Authentication's header.

App Service Authentication (Easy Auth, see docs/deploy.md) validates the Entra ID
session or bearer token before a request reaches the worker, strips any
``X-MS-CLIENT-PRINCIPAL`` a client sent, and sets its own. The app still enforces:
no principal -> `Unauthenticated` (401; the page redirects to sign-in instead), and
what the principal may read comes from `shared.access` with this worker's reference
data (where each store is now) and group-to-scope map.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from urllib.parse import quote

import azure.functions as func

from functions._runtime import runtime
from shared.access import Access, InvalidPrincipal, Unauthenticated, access_for, decode_client_principal
from shared.web.directory import Directory

__all__ = ["LOGIN_PATH", "PRINCIPAL_HEADER", "caller", "sign_in_redirect"]

PRINCIPAL_HEADER: Final = "X-MS-CLIENT-PRINCIPAL"
LOGIN_PATH: Final = "/.auth/login/aad"
"""App Service Authentication's Entra ID sign-in endpoint."""


def caller(req: func.HttpRequest, now: datetime) -> Access:
    """What the signed-in caller may read; `Unauthenticated` without a (valid) principal."""
    header = req.headers.get(PRINCIPAL_HEADER)
    if not header:
        raise Unauthenticated("sign in with Microsoft Entra ID first")
    try:
        principal = decode_client_principal(header)
    except InvalidPrincipal as exc:
        raise Unauthenticated(str(exc)) from None
    current = runtime()
    directory = Directory.from_reference(current.pipeline.reference, now)
    return access_for(principal, current.scopes, {s.store_id: s.region for s in directory.stores})


def sign_in_redirect(back_to: str) -> func.HttpResponse:
    """302 to the Entra ID sign-in, coming back to `back_to` (a path on this app)."""
    location = f"{LOGIN_PATH}?post_login_redirect_uri={quote(back_to, safe='/')}"
    return func.HttpResponse(status_code=302, headers={"Location": location, "Cache-Control": "no-store"})
