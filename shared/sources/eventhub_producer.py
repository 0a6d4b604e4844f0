"""Event Hubs producers for `pulse send`: identity (DefaultAzureCredential) or a connection string.

One `EventHubProducerClient` per hub, each with a `PartitionBatcher`. The fully
qualified namespace comes from ``--namespace`` or ``EVENTHUB__fullyQualifiedNamespace``;
a connection string only ever from an environment variable (never a file or an
argument, so it cannot land in shell history or the repository).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from azure.eventhub import EventDataBatch, EventHubProducerClient
from azure.eventhub.exceptions import EventHubError

from shared.sources.batching import BatchStats, PartitionBatcher

__all__ = ["EventHubProducers", "ProducerCredentials", "SendFailed"]


class SendFailed(RuntimeError):
    """Event Hubs refused or could not be reached after the SDK's own retries."""


@dataclass(frozen=True, slots=True)
class ProducerCredentials:
    """Exactly one of: a namespace FQDN (Entra ID via DefaultAzureCredential) or a connection string."""

    namespace: str | None = None
    connection_string: str | None = None
    retry_total: int = 3
    """The SDK's retries of a failed operation (connect, send) before `SendFailed`."""

    def __post_init__(self) -> None:
        if (self.namespace is None) == (self.connection_string is None):
            raise ValueError("give either a fully qualified namespace or a connection string")

    def client(self, hub: str) -> EventHubProducerClient:
        """A producer for `hub` (connects lazily, on the first batch)."""
        if self.connection_string is not None:
            return EventHubProducerClient.from_connection_string(
                self.connection_string, eventhub_name=hub, retry_total=self.retry_total
            )
        from azure.identity import DefaultAzureCredential

        return EventHubProducerClient(
            fully_qualified_namespace=str(self.namespace),
            eventhub_name=hub,
            credential=DefaultAzureCredential(),
            retry_total=self.retry_total,
        )


def _batcher(client: EventHubProducerClient) -> PartitionBatcher:
    def new_batch(partition_key: str) -> EventDataBatch:
        return client.create_batch(partition_key=partition_key)

    return PartitionBatcher(new_batch, client.send_batch)


class EventHubProducers:
    """A client and a batcher per source's hub; `add` routes an event by its source."""

    def __init__(self, hubs: Mapping[str, str], credentials: ProducerCredentials) -> None:
        """`hubs` maps each source to send to onto its hub name."""
        self.hubs = dict(hubs)
        self._clients = {source: credentials.client(hub) for source, hub in self.hubs.items()}
        self._batchers = {source: _batcher(client) for source, client in self._clients.items()}

    def add(self, source: str, partition_key: str, body: bytes) -> bool:
        """Queue one event for the hub of `source`; False if it is too large to send."""
        try:
            return self._batchers[source].add(partition_key, body)
        except EventHubError as exc:
            raise SendFailed(f"{self.hubs[source]}: {exc}") from exc

    def flush(self) -> None:
        """Send every open batch of every hub."""
        for source, batcher in self._batchers.items():
            try:
                batcher.flush()
            except EventHubError as exc:
                raise SendFailed(f"{self.hubs[source]}: {exc}") from exc

    def stats(self) -> dict[str, BatchStats]:
        """Per hub name."""
        return {self.hubs[source]: batcher.stats for source, batcher in self._batchers.items()}

    def close(self) -> None:
        """Close every client (after a final `flush`)."""
        for client in self._clients.values():
            client.close()
