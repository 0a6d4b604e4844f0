"""Real ``azure.functions`` trigger inputs, built the way the Python worker builds them.

`event_batch` hands the host's binding data (trigger metadata as ``meta.Datum``
values, bodies as a protobuf-like ``CollectionBytes``) to the worker's own
``EventHubTriggerConverter.decode``, so the handlers get exactly what Azure gives
them, in either metadata shape.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Literal

import azure.functions as func
from azure.functions import meta
from azure.functions.eventhub import EventHubTriggerConverter
from azure.functions.timer import TimerRequestConverter

__all__ = ["client_principal", "document_list", "event_batch", "http_request", "timer_request"]

Shape = Literal["v5", "v4"]


def _net_time(ts: datetime) -> str:
    # What the host sends for DateTime (kind unspecified): no offset, seven fractional digits.
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def event_batch(
    bodies: Sequence[bytes],
    *,
    partition: str,
    first_seq: int,
    enqueued: datetime,
    hub: str = "pulse-txn",
    shape: Shape = "v5",
) -> list[func.EventHubEvent]:
    """A ``cardinality=many`` batch of one partition with consecutive sequence numbers.

    ``v5``: ``PartitionContext.PartitionId`` and per-event system properties (extension 5.x+).
    ``v4``: ``PartitionContext.RuntimeInformation.PartitionId`` and only the batch arrays
    ``SequenceNumberArray``/``OffsetArray``/``EnqueuedTimeUtcArray`` (older extensions).
    """
    seqs = [first_seq + i for i in range(len(bodies))]
    offsets = [str(4096 * seq) for seq in seqs]
    times = [_net_time(enqueued)] * len(bodies)
    if shape == "v5":
        context: dict[str, Any] = {
            "FullyQualifiedNamespace": "ns.servicebus.windows.net",
            "EventHubName": hub,
            "ConsumerGroup": "pulse-functions",
            "PartitionId": partition,
        }
        system = [
            {"SequenceNumber": s, "Offset": o, "EnqueuedTimeUtc": t, "PartitionKey": "DE001"}
            for s, o, t in zip(seqs, offsets, times, strict=True)
        ]
    else:
        context = {
            "ConsumerGroupName": "pulse-functions",
            "EventHubPath": hub,
            "RuntimeInformation": {"PartitionId": partition, "LastSequenceNumber": seqs[-1]},
        }
        system = [{"PartitionKey": "DE001"} for _ in bodies]
    metadata = {
        "PartitionContext": meta.Datum(json.dumps(context), "json"),
        "SystemPropertiesArray": meta.Datum(json.dumps(system), "json"),
        "SequenceNumberArray": meta.Datum(json.dumps(seqs), "json"),
        "OffsetArray": meta.Datum(json.dumps(offsets), "json"),
        "EnqueuedTimeUtcArray": meta.Datum(json.dumps(times), "json"),
    }
    data = meta.Datum(SimpleNamespace(bytes=list(bodies)), "collection_bytes")
    events = EventHubTriggerConverter.decode(data, trigger_metadata=metadata)
    assert isinstance(events, list)
    return events


def document_list(docs: Sequence[Mapping[str, Any]]) -> func.DocumentList:
    """The change-feed page the Cosmos DB trigger hands over."""
    return func.DocumentList(func.Document.from_dict(dict(doc)) for doc in docs)


def http_request(
    method: str,
    route: str,
    params: Mapping[str, str] | None = None,
    body: bytes = b"",
    principal: str | None = None,
) -> func.HttpRequest:
    """A request as the host passes it to an HTTP function (`principal`: the Easy Auth header's value)."""
    headers = {} if principal is None else {"X-MS-CLIENT-PRINCIPAL": principal}
    return func.HttpRequest(
        method, f"http://localhost:7071/api/{route}", params=dict(params or {}), body=body, headers=headers
    )


def client_principal(name: str, roles: Sequence[str], groups: Sequence[str] = ()) -> str:
    """``X-MS-CLIENT-PRINCIPAL`` as App Service Authentication writes it for an Entra ID user."""
    role_typ = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
    claims = [
        {"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier", "val": f"oid-{name}"},
        {"typ": "preferred_username", "val": f"{name}@contoso.example"},
        {"typ": "name", "val": name.title()},
        *({"typ": "roles", "val": role} for role in roles),
        *({"typ": "groups", "val": group} for group in groups),
    ]
    payload = {"auth_typ": "aad", "claims": claims, "name_typ": "name", "role_typ": role_typ}
    return base64.b64encode(json.dumps(payload).encode()).decode("ascii")


def timer_request(past_due: bool = False) -> func.TimerRequest:
    """The timer trigger's input, decoded by the worker's converter from what the host sends."""
    info = {"IsPastDue": past_due, "Schedule": {"AdjustForDST": True}, "ScheduleStatus": None}
    request = TimerRequestConverter.decode(meta.Datum(json.dumps(info), "json"), trigger_metadata={})
    assert isinstance(request, func.TimerRequest)
    return request
