"""Settings of the Cosmos adapter, with presets for Azure and the two local emulators."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from shared.stores.cosmos_errors import RetryPolicy

__all__ = ["CosmosOptions", "ReadManyStrategy"]

ReadManyStrategy: TypeAlias = Literal["read_items", "query", "point_reads"]
"""How `read_many` fetches: the SDK's ``read_items`` (batched point reads), one
``ARRAY_CONTAINS`` query per partition, or concurrent point reads."""


@dataclass(frozen=True, slots=True)
class CosmosOptions:
    """How `CosmosDocumentStore` builds its client and behaves. Defaults suit Azure."""

    create_if_missing: bool = False
    """Create the database and the `topology.CONTAINERS` (emulators; in Azure infra does it)."""
    endpoint_discovery: bool = True
    """Follow the account's regional endpoints (off for emulators that advertise unusable ones)."""
    connection_verify: bool = True
    """TLS verification; off only for the Microsoft emulator's self-signed certificate."""
    npm_server_quirks: bool = False
    """Work around `@vercel/cosmosdb-server` 1.0.1, which answers a point read of a
    missing document with 500 unless the cross-partition header is set."""
    throttle_retries: int = 9
    """SDK retries of a 429, each after the server's ``x-ms-retry-after-ms``."""
    throttle_max_wait_s: int = 30
    """Cap on the total time the SDK spends waiting out 429s for one request."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """Adapter retries of 503/408/449/network errors (see `cosmos_errors`)."""
    write_concurrency: int = 8
    """Threads issuing the ops of one `write_many` (1: sequential), and `read_many`'s requests."""
    read_many: ReadManyStrategy = "read_items"

    def __post_init__(self) -> None:
        if self.write_concurrency < 1:
            raise ValueError("write_concurrency must be >= 1")
        # The SDK reads 0 as "use the default", so 0 cannot mean "no retries".
        if self.throttle_retries < 1 or self.throttle_max_wait_s < 1:
            raise ValueError("throttle_retries and throttle_max_wait_s must be >= 1")

    @classmethod
    def for_npm_server(cls, **overrides: Any) -> CosmosOptions:
        """`@vercel/cosmosdb-server` over plain HTTP on loopback (started with ``--no-ssl``).

        `read_many` uses one query per partition: the SDK's ``read_items`` is ~10x
        slower there and intermittently fails with "Maximum call stack size exceeded"
        at 1,000 keys (the server's query parser recursing over the OR list).
        """
        base = cls(create_if_missing=True, endpoint_discovery=False, npm_server_quirks=True, read_many="query")
        return dataclasses.replace(base, **overrides)

    @classmethod
    def for_docker_emulator(cls, **overrides: Any) -> CosmosOptions:
        """The Microsoft Cosmos DB emulator container (HTTPS, self-signed certificate)."""
        base = cls(create_if_missing=True, endpoint_discovery=False, connection_verify=False)
        return dataclasses.replace(base, **overrides)

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `azure.cosmos.CosmosClient`."""
        return {
            "enable_endpoint_discovery": self.endpoint_discovery,
            "connection_verify": self.connection_verify,
            "retry_throttle_total": self.throttle_retries,
            "retry_throttle_backoff_max": self.throttle_max_wait_s,
        }
