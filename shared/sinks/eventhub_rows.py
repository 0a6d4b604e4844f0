"""Fabric successor sink: the same rows as JSON events over the Event Hubs protocol.

A Fabric Eventstream "custom endpoint" source speaks the Event Hubs protocol, so the
azure-eventhub producer sends to it unchanged; Eventstream then routes the events
(by their ``table`` field) into Eventhouse / KQL tables or Real-Time dashboards.
Each event is one row with a ``table`` field added; the table name is also the
partition key, so one table's rows stay in outbox order.

Connection: the endpoint's namespace and hub from settings with the managed identity
(`DefaultAzureCredential`), or the endpoint's connection string from an environment
variable (in Azure a Key Vault reference). Never in code, never logged.

Identity ("Connect to Eventstream using Microsoft Entra ID authentication",
learn.microsoft.com/fabric/real-time-intelligence/event-streams/custom-endpoint-entra-id-auth):
the tenant setting "Service principals can call Fabric public APIs" enabled, and the
app's identity given the Contributor role on the Fabric workspace (Manage access);
not an Azure RBAC role such as Azure Event Hubs Data Sender.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from azure.eventhub import EventData, EventDataBatch, EventHubProducerClient

from shared.sinks._http import redact
from shared.sinks.limits import EVENTHUB_LIMITS, SinkLimits
from shared.sinks.port import Row, SettingError, SinkRejected, SinkUnavailable
from shared.sinks.powerbi_push import TokenProvider, default_credential
from shared.sinks.split import row_json

__all__ = [
    "FABRIC_CONNECTION_STRING_SETTING",
    "FABRIC_EVENTHUB_SETTING",
    "FABRIC_NAMESPACE_SETTING",
    "BatchProducer",
    "EventHubRowSink",
]

FABRIC_NAMESPACE_SETTING = "FABRIC_EVENTSTREAM_NAMESPACE"
"""Fully qualified namespace of the Eventstream custom endpoint (``<name>.servicebus.windows.net``)."""
FABRIC_EVENTHUB_SETTING = "FABRIC_EVENTSTREAM_HUB"
"""Event hub name of the custom endpoint (``es_...``)."""
FABRIC_CONNECTION_STRING_SETTING = "FABRIC_EVENTSTREAM_CONNECTION_STRING"
"""Optional: the endpoint's connection string (SAS key) when identity cannot be used; a Key Vault reference."""


class BatchProducer(Protocol):
    """The two calls of `EventHubProducerClient` this sink uses."""

    def create_batch(self, *, partition_key: str | None = None, max_size_in_bytes: int | None = None) -> EventDataBatch:
        """A new, empty batch (its size limit comes from the hub unless given)."""
        ...

    def send_batch(self, event_data_batch: EventDataBatch, **kwargs: Any) -> None:
        """Send a batch; returns once the service accepted it."""
        ...


class EventHubRowSink:
    """`RowSink` onto one Event Hubs endpoint (a Fabric Eventstream custom endpoint)."""

    def __init__(
        self,
        producer: BatchProducer,
        *,
        target: str,
        limits: SinkLimits = EVENTHUB_LIMITS,
        max_batch_bytes: int | None = None,
    ) -> None:
        """`target` names the endpoint for logs (no key); `max_batch_bytes` None means the hub's maximum."""
        self._producer, self._target, self._limits, self._max_batch_bytes = producer, target, limits, max_batch_bytes

    @classmethod
    def from_settings(
        cls,
        environ: Mapping[str, str],
        *,
        credential_factory: Callable[[], TokenProvider] = default_credential,
    ) -> EventHubRowSink:
        """From the FABRIC_EVENTSTREAM_* settings: a connection string if given, else namespace + hub + identity."""
        hub = environ.get(FABRIC_EVENTHUB_SETTING, "").strip()
        connection = environ.get(FABRIC_CONNECTION_STRING_SETTING, "").strip()
        if connection.startswith("@Microsoft.KeyVault("):
            raise SettingError(f"{FABRIC_CONNECTION_STRING_SETTING} is an unresolved Key Vault reference")
        if connection:
            try:
                producer = EventHubProducerClient.from_connection_string(connection, eventhub_name=hub or None)
            except ValueError:
                raise SettingError(
                    f"{FABRIC_CONNECTION_STRING_SETTING} is not an Event Hubs connection string"
                ) from None
            return cls(producer, target=f"eventhub {_endpoint_host(connection)}/{producer.eventhub_name}")
        namespace = environ.get(FABRIC_NAMESPACE_SETTING, "").strip()
        if not namespace or not hub:
            raise SettingError(
                f"set {FABRIC_NAMESPACE_SETTING} and {FABRIC_EVENTHUB_SETTING} "
                f"(or {FABRIC_CONNECTION_STRING_SETTING}) for the Fabric Eventstream sink"
            )
        credential: Any = credential_factory()
        producer = EventHubProducerClient(fully_qualified_namespace=namespace, eventhub_name=hub, credential=credential)
        return cls(producer, target=f"eventhub {namespace}/{hub}")

    def __repr__(self) -> str:
        return f"EventHubRowSink({self._target!r})"

    @property
    def target(self) -> str:
        """Namespace and hub (no key)."""
        return self._target

    @property
    def limit_key(self) -> str:
        """One endpoint, one limiter."""
        return self._target

    @property
    def limits(self) -> SinkLimits:
        """Events per request; no request quotas (throughput units instead)."""
        return self._limits

    def envelope_bytes(self, table: str) -> int:
        """Batches are sized by the SDK, not by this count."""
        return 0

    def send(self, table: str, rows: Sequence[Row]) -> None:
        """Send `rows` as events in as few `EventDataBatch`es as fit, in order."""
        sent = 0
        batch, in_batch = self._new_batch(table), 0
        for row in rows:
            event = _event(table, row)
            try:
                batch.add(event)
            except ValueError:
                if in_batch == 0:
                    raise SinkRejected(f"a row of {table} does not fit an event batch", accepted_rows=sent) from None
                self._send(batch, sent)
                sent += in_batch
                batch, in_batch = self._new_batch(table), 0
                try:
                    batch.add(event)
                except ValueError:
                    raise SinkRejected(f"a row of {table} does not fit an event batch", accepted_rows=sent) from None
            in_batch += 1
        if in_batch:
            self._send(batch, sent)

    def _new_batch(self, table: str) -> EventDataBatch:
        try:
            return self._producer.create_batch(partition_key=table, max_size_in_bytes=self._max_batch_bytes)
        except Exception as error:  # connection / auth failures of the SDK
            raise SinkUnavailable(f"{self._target}: cannot open a batch ({redact(str(error))})") from None

    def _send(self, batch: EventDataBatch, sent: int) -> None:
        try:
            self._producer.send_batch(batch)
        except Exception as error:  # EventHubError and transport errors: the rows stay in the outbox
            message = f"{self._target}: send failed ({type(error).__name__}: {redact(str(error))})"
            raise SinkUnavailable(message, accepted_rows=sent) from None


def _endpoint_host(connection: str) -> str:
    """The namespace host of a connection string (never its key)."""
    fields = dict(part.split("=", 1) for part in connection.split(";") if "=" in part)
    return urllib.parse.urlsplit(fields.get("Endpoint", "")).hostname or "(unknown namespace)"


def _event(table: str, row: Row) -> EventData:
    event = EventData(row_json({**row, "table": table}))
    event.content_type = "application/json"
    event.properties = {"table": table}
    return event
