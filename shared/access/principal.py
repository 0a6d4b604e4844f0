"""The caller as App Service Authentication describes it in ``X-MS-CLIENT-PRINCIPAL``.

The header is base64 of ``{"auth_typ": ..., "name_typ": ..., "role_typ": ...,
"claims": [{"typ": ..., "val": ...}, ...]}``. App Service strips the header from
incoming requests and sets it only for a validated session or token, so its
presence means "signed in"; the app never trusts it where Easy Auth is not in front
(the embedded host ignores it). App roles arrive as ``roles`` claims (or claims of
type ``role_typ``), Entra group object ids as ``groups`` claims.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Final

import orjson

__all__ = ["MAX_HEADER_CHARS", "InvalidPrincipal", "Principal", "Unauthenticated", "decode_client_principal"]

MAX_HEADER_CHARS: Final = 64 * 1024
_ROLE_CLAIMS: Final = frozenset({"roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"})
_ID_CLAIMS: Final = ("http://schemas.microsoft.com/identity/claims/objectidentifier", "oid", "sub")
_NAME_CLAIMS: Final = ("preferred_username", "name", "upn", "email")


class InvalidPrincipal(ValueError):
    """The principal header is not what App Service Authentication writes."""


@dataclass(frozen=True, slots=True)
class Principal:
    """A signed-in caller: a stable id, a name for the audit log, app roles and group object ids."""

    id: str
    name: str
    roles: frozenset[str]
    groups: frozenset[str]
    provider: str = "aad"


def decode_client_principal(header: str) -> Principal:
    """Parse the ``X-MS-CLIENT-PRINCIPAL`` value; `InvalidPrincipal` when it is malformed."""
    if len(header) > MAX_HEADER_CHARS:
        raise InvalidPrincipal("the principal header is too long")
    try:
        data = orjson.loads(base64.b64decode(header, validate=True))
    except (binascii.Error, ValueError):
        raise InvalidPrincipal("the principal header is not base64-encoded JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise InvalidPrincipal("the principal header has no claims array")
    role_typ = data.get("role_typ")
    claims: dict[str, list[str]] = {}
    for claim in data["claims"]:
        if isinstance(claim, dict) and isinstance(claim.get("typ"), str) and isinstance(claim.get("val"), str):
            claims.setdefault(claim["typ"], []).append(claim["val"])
    roles = {value for typ, values in claims.items() if typ in _ROLE_CLAIMS or typ == role_typ for value in values}
    principal_id = _first(claims, _ID_CLAIMS)
    if principal_id is None:
        raise InvalidPrincipal("the principal header names no object id")
    name = _first(claims, (*_NAME_CLAIMS, str(data.get("name_typ", "")))) or principal_id
    return Principal(principal_id, name, frozenset(roles), frozenset(claims.get("groups", ())), _text(data, "auth_typ"))


def _first(claims: dict[str, list[str]], names: tuple[str, ...]) -> str | None:
    return next((claims[name][0] for name in names if claims.get(name)), None)


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) and value else "aad"


class Unauthenticated(PermissionError):
    """No signed-in principal reached the app (HTTP 401)."""
