"""Who may see what: the signed-in principal, its app roles, and the stores and regions it may read.

Pure (no Azure import): the Function App's adapter (`functions._auth`) hands over the
``X-MS-CLIENT-PRINCIPAL`` header that App Service Authentication sets, and the
embedded host uses `Access.everything()` on loopback.
"""

from shared.access.principal import InvalidPrincipal, Principal, Unauthenticated, decode_client_principal
from shared.access.scopes import Access, Forbidden, Role, ScopeMap, ScopeMapError, access_for

__all__ = [
    "Access",
    "Forbidden",
    "InvalidPrincipal",
    "Principal",
    "Role",
    "ScopeMap",
    "ScopeMapError",
    "Unauthenticated",
    "access_for",
    "decode_client_principal",
]
