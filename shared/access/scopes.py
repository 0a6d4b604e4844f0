"""App roles and scopes: what a principal may read, decided on the server for every request.

=============  ==============================================================
app role       may
=============  ==============================================================
Viewer         every KPI: chain, channels, regions, stores
RegionManager  the regions its groups map to, and every store in them
StoreManager   the stores its groups map to
Operator       the dead letters: list (masked) and replay
=============  ==============================================================

Roles add up. A manager's scope comes from the Entra groups in its token (``groups``
claims) through the group-to-scope map, the JSON app setting ``PULSE_SCOPE_MAP``::

    {"4f0c...-group-object-id": {"stores": ["DE013"]},
     "9a1e...-group-object-id": {"regions": ["DE_NORTH"]}}

A store belongs to a region as of now in the reference data, so a region manager
follows a store that moves. Anything outside the scope is `Forbidden` (HTTP 403).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from shared.access.principal import Principal

__all__ = ["Access", "Forbidden", "Role", "ScopeMap", "ScopeMapError", "access_for"]


class Role(StrEnum):
    """The app roles of the Entra app registration (their ``value``)."""

    VIEWER = "Viewer"
    STORE_MANAGER = "StoreManager"
    REGION_MANAGER = "RegionManager"
    OPERATOR = "Operator"


class Forbidden(PermissionError):
    """The caller is signed in but may not read or do this (HTTP 403); the message says why."""


class ScopeMapError(ValueError):
    """The group-to-scope map is not valid JSON of the documented shape."""


@dataclass(frozen=True, slots=True)
class GroupScope:
    """What one Entra group grants its members (through their manager roles)."""

    stores: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ScopeMap:
    """Entra group object id -> the stores and regions it grants."""

    groups: Mapping[str, GroupScope]

    @classmethod
    def parse(cls, text: str | None) -> ScopeMap:
        """Read ``{"<group id>": {"stores": [...], "regions": [...]}}`` (empty or None: no group grants anything)."""
        if not text or not text.strip():
            return cls({})
        try:
            data: Any = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise ScopeMapError("the scope map is not valid JSON") from None
        if not isinstance(data, dict):
            raise ScopeMapError("the scope map must be a JSON object of group id -> {stores, regions}")
        return cls({str(group): _group_scope(group, entry) for group, entry in data.items()})


def _group_scope(group: str, entry: Any) -> GroupScope:
    if not isinstance(entry, dict) or set(entry) - {"stores", "regions"}:
        raise ScopeMapError(f"group {group!r}: give an object with 'stores' and/or 'regions'")
    lists = {name: entry.get(name, []) for name in ("stores", "regions")}
    for name, values in lists.items():
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise ScopeMapError(f"group {group!r}: '{name}' must be a list of ids")
    return GroupScope(frozenset(lists["stores"]), frozenset(lists["regions"]))


@dataclass(frozen=True, slots=True)
class Access:
    """What one caller may read; `principal` is None for the embedded host on loopback."""

    principal: Principal | None
    chain: bool
    regions: frozenset[str]
    stores: frozenset[str]
    """Every store the caller may read: its own and those of its regions."""
    operator: bool

    @classmethod
    def everything(cls) -> Access:
        """The embedded host's caller: no sign-in, every scope (loopback only)."""
        return cls(None, True, frozenset(), frozenset(), True)

    @property
    def who(self) -> str:
        """The caller for the audit log."""
        return "local" if self.principal is None else f"{self.principal.name} ({self.principal.id})"

    @property
    def reads_kpis(self) -> bool:
        """True when some KPI scope is open to the caller."""
        return self.chain or bool(self.regions or self.stores)

    def may_read(self, scope: str, key: str) -> bool:
        """True when the caller may read member `key` of `scope` (chain, channel, region, store)."""
        if self.chain:
            return True
        if scope == "region":
            return key in self.regions
        if scope == "store":
            return key in self.stores
        return False

    def check(self, scope: str, key: str | None) -> None:
        """Raise `Forbidden` unless the caller may read `key` of `scope` (None: some members of it)."""
        if self.chain:
            return
        if scope in ("chain", "channel"):
            raise Forbidden(f"the {scope} figures need the Viewer role")
        if key is None:
            if (scope == "region" and not self.regions) or (scope == "store" and not self.stores):
                raise Forbidden(f"no {scope} is in your scope")
            return
        if not self.may_read(scope, key):
            raise Forbidden(f"{scope} {key} is outside your scope")

    def check_operator(self) -> None:
        """Raise `Forbidden` unless the caller holds the Operator role."""
        if not self.operator:
            raise Forbidden("dead letters need the Operator role")


def access_for(principal: Principal, scope_map: ScopeMap, store_regions: Mapping[str, str]) -> Access:
    """The access of `principal` given its roles, its groups' scopes and where each store is now."""
    roles = principal.roles
    granted = [scope_map.groups[g] for g in sorted(principal.groups) if g in scope_map.groups]
    regions: set[str] = set()
    stores: set[str] = set()
    if Role.REGION_MANAGER in roles:
        regions.update(_union(g.regions for g in granted))
        stores.update(store for store, region in store_regions.items() if region in regions)
    if Role.STORE_MANAGER in roles:
        stores.update(_union(g.stores for g in granted))
    return Access(principal, Role.VIEWER in roles, frozenset(regions), frozenset(stores), Role.OPERATOR in roles)


def _union(sets: Iterable[frozenset[str]]) -> set[str]:
    out: set[str] = set()
    for values in sets:
        out |= values
    return out
