"""Which credential the Cosmos adapter may use: an Entra ID identity, or the emulator key locally.

In Azure the app authenticates with its managed identity (`DefaultAzureCredential`)
and Cosmos DB data-plane RBAC; account keys are refused. The only key accepted is
the *published* Cosmos DB emulator key, and only for a loopback endpoint: it is what
the Microsoft emulator (testcontainers) expects and what `@vercel/cosmosdb-server`
ignores, so no real secret ever appears in code or settings.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, TypeAlias
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

__all__ = ["EMULATOR_KEY", "Credential", "is_loopback_endpoint", "resolve_credential"]

EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
"""The well-known key of the local Cosmos DB emulator (public, not a secret)."""

Credential: TypeAlias = "TokenCredential | str"


def is_loopback_endpoint(endpoint: str) -> bool:
    """True for ``http(s)://localhost|127.x.x.x|[::1]:port`` endpoints."""
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_credential(endpoint: str, credential: Credential | None) -> Credential:
    """The credential to hand to `CosmosClient`, refusing anything but identity or the emulator key.

    None means `DefaultAzureCredential()` (managed identity in Azure, developer login
    elsewhere). A string must be `EMULATOR_KEY` and the endpoint a loopback address.
    """
    if credential is None:
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()
    if isinstance(credential, str):
        if credential != EMULATOR_KEY:
            raise ValueError(
                "account keys are not accepted: use an Entra ID credential (managed identity); "
                "only the public emulator key is allowed, for a local emulator"
            )
        if not is_loopback_endpoint(endpoint):
            raise ValueError(f"the emulator key is for loopback endpoints only, not {endpoint!r}")
    return credential
