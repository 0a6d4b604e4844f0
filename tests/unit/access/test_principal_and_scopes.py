"""The principal header as App Service writes it, and what each role and group may read."""

from __future__ import annotations

import base64
import json

import pytest

from shared.access import (
    Access,
    Forbidden,
    InvalidPrincipal,
    Principal,
    ScopeMap,
    ScopeMapError,
    access_for,
    decode_client_principal,
)

ROLE_TYP = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"
STORES = {"DE001": "DE_NORTH", "DE002": "DE_NORTH", "DE013": "DE_SOUTH", "DE014": "DE_SOUTH"}
SCOPES = ScopeMap.parse('{"g-store": {"stores": ["DE013"]}, "g-north": {"regions": ["DE_NORTH"]}}')


def header(claims: list[dict[str, str]], **extra: str) -> str:
    payload = {"auth_typ": "aad", "claims": claims, "name_typ": "name", "role_typ": ROLE_TYP, **extra}
    return base64.b64encode(json.dumps(payload).encode()).decode()


def principal(roles: tuple[str, ...] = (), groups: tuple[str, ...] = ()) -> Principal:
    return Principal("oid-1", "ana@contoso.example", frozenset(roles), frozenset(groups))


def test_the_header_gives_id_name_roles_and_groups() -> None:
    decoded = decode_client_principal(
        header([
            {"typ": OID, "val": "oid-7"}, {"typ": "preferred_username", "val": "ana@contoso.example"},
            {"typ": ROLE_TYP, "val": "RegionManager"}, {"typ": "roles", "val": "Operator"},
            {"typ": "groups", "val": "g-north"}, {"typ": "groups", "val": "g-other"},
        ])
    )  # fmt: skip
    assert decoded == Principal(
        "oid-7", "ana@contoso.example", frozenset({"RegionManager", "Operator"}), frozenset({"g-north", "g-other"})
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("%%%", "not base64"),
        (base64.b64encode(b"[1, 2]").decode(), "no claims array"),
        (base64.b64encode(b"{}").decode(), "no claims array"),
        (header([{"typ": "name", "val": "x"}]), "names no object id"),
        ("A" * 70_000, "too long"),
    ],
)
def test_a_malformed_header_is_refused(value: str, message: str) -> None:
    with pytest.raises(InvalidPrincipal, match=message):
        decode_client_principal(value)


def test_roles_add_up_and_managers_get_their_groups_scopes() -> None:
    viewer = access_for(principal(("Viewer",)), SCOPES, STORES)
    assert viewer.chain and viewer.may_read("store", "DE014") and not viewer.operator
    store = access_for(principal(("StoreManager",), ("g-store", "g-north")), SCOPES, STORES)
    assert (store.stores, store.regions, store.chain) == (frozenset({"DE013"}), frozenset(), False)
    region = access_for(principal(("RegionManager",), ("g-north",)), SCOPES, STORES)
    assert (region.regions, region.stores) == (frozenset({"DE_NORTH"}), frozenset({"DE001", "DE002"}))
    both = access_for(principal(("RegionManager", "StoreManager", "Operator"), ("g-north", "g-store")), SCOPES, STORES)
    assert both.stores == {"DE001", "DE002", "DE013"} and both.operator
    nothing = access_for(principal((), ("g-store",)), SCOPES, STORES)
    assert not nothing.reads_kpis and not nothing.operator


def test_check_refuses_everything_outside_the_scope() -> None:
    store = access_for(principal(("StoreManager",), ("g-store",)), SCOPES, STORES)
    store.check("store", "DE013")
    store.check("store", None)
    for scope, key in (
        ("store", "DE014"),
        ("region", "DE_SOUTH"),
        ("region", None),
        ("chain", None),
        ("channel", "web"),
    ):
        with pytest.raises(Forbidden):
            store.check(scope, key)
    with pytest.raises(Forbidden, match="Operator"):
        store.check_operator()
    Access.everything().check("chain", None)


@pytest.mark.parametrize(
    "text", ["{", "[]", '{"g": []}', '{"g": {"stores": "DE013"}}', '{"g": {"shops": ["x"]}}', '{"g": {"stores": [""]}}']
)
def test_a_malformed_scope_map_is_refused(text: str) -> None:
    with pytest.raises(ScopeMapError):
        ScopeMap.parse(text)


def test_an_empty_scope_map_grants_nothing() -> None:
    assert ScopeMap.parse(None).groups == {} and ScopeMap.parse("  ").groups == {}


def test_the_app_registration_manifest_defines_exactly_the_roles_the_app_checks() -> None:
    from pathlib import Path

    from shared.access import Role

    manifest = json.loads((Path(__file__).resolve().parents[3] / "infra" / "app-roles.json").read_text())
    assert sorted(role["value"] for role in manifest) == sorted(role.value for role in Role)
    assert len({role["id"] for role in manifest}) == len(manifest) and all(role["isEnabled"] for role in manifest)
