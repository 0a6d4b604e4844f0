"""The Avro record Event Hubs Capture writes, read and written with fastavro.

Schema (Microsoft's documented Capture schema, ``Microsoft.ServiceBus.Messaging.EventData``):
SequenceNumber long, Offset string, EnqueuedTimeUtc string, SystemProperties and
Properties maps, Body bytes. Capture writes EnqueuedTimeUtc as ``M/d/yyyy h:mm:ss AM``
(UTC, whole seconds); this project's embedded capture writes RFC 3339 with
microseconds so a rebuild judges each message at exactly its first delivery. The
reader takes both.

fastavro: maintained, a C-accelerated reader that streams record by record from any
file-like object (bounded memory for any file size), and it raises on a damaged
block instead of returning garbage, which is what `CaptureDamaged` reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

import fastavro

from shared.capture.port import BlobReader
from shared.pipeline.raw import RawEvent

__all__ = ["CAPTURE_SCHEMA", "CaptureDamaged", "format_enqueued", "parse_enqueued", "read_records", "write_records"]

CAPTURE_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "EventData",
    "namespace": "Microsoft.ServiceBus.Messaging",
    "fields": [
        {"name": "SequenceNumber", "type": "long"},
        {"name": "Offset", "type": "string"},
        {"name": "EnqueuedTimeUtc", "type": "string"},
        {"name": "SystemProperties", "type": {"type": "map", "values": ["long", "double", "string", "bytes"]}},
        {"name": "Properties", "type": {"type": "map", "values": ["long", "double", "string", "bytes", "null"]}},
        {"name": "Body", "type": ["null", "bytes"]},
    ],
}
_PARSED_SCHEMA = fastavro.parse_schema(CAPTURE_SCHEMA)


class CaptureDamaged(ValueError):
    """A capture blob that cannot be read past `position` (records read before it were good)."""

    def __init__(self, blob: str, position: int, cause: str) -> None:
        super().__init__(f"damaged capture blob {blob} at record {position}: {cause}")
        self.blob, self.position, self.cause = blob, position, cause


def format_enqueued(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds (what the embedded capture writes)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_enqueued(text: str) -> datetime:
    """Capture's ``M/d/yyyy h:mm:ss AM`` or RFC 3339; always UTC, tz-aware."""
    if "/" in text:
        return datetime.strptime(text, "%m/%d/%Y %I:%M:%S %p").replace(tzinfo=UTC)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def write_records(
    out: IO[bytes], partition_key: Iterable[str | None], events: Iterable[RawEvent], codec: str = "deflate"
) -> int:
    """Write `events` (with positions and enqueued times) as one Capture Avro file; the count written."""
    keys = iter(partition_key)
    records = []
    last_time, last_text = None, ""  # a burst shares its enqueued time: format it once
    for raw in events:
        if raw.sequence_number is None or raw.enqueued_time is None:
            raise ValueError("a captured message needs a sequence number and an enqueued time")
        if raw.enqueued_time != last_time:
            last_time, last_text = raw.enqueued_time, format_enqueued(raw.enqueued_time)
        system: dict[str, Any] = {}
        key = next(keys, None)
        if key is not None:
            system["x-opt-partition-key"] = key
        records.append(
            {
                "SequenceNumber": raw.sequence_number,
                "Offset": raw.offset or "0",
                "EnqueuedTimeUtc": last_text,
                "SystemProperties": system,
                "Properties": {},
                "Body": raw.body,
            }
        )
    fastavro.writer(out, _PARSED_SCHEMA, records, codec=codec)
    return len(records)


def read_records(stream: BlobReader | IO[bytes], blob: str, partition: str) -> Iterator[RawEvent]:
    """Stream the messages of one capture file in file order; `CaptureDamaged` where it breaks."""
    position = 0
    last_text, last_time = "", None  # a burst shares its enqueued time: parse it once
    try:
        reader = fastavro.reader(stream)  # type: ignore[arg-type]  # any object with read() will do
        for record in reader:
            if not isinstance(record, dict):
                raise ValueError(f"not a Capture record: {type(record).__name__}")
            body = record.get("Body")
            text = record["EnqueuedTimeUtc"]
            if text != last_text or last_time is None:
                last_text, last_time = text, parse_enqueued(str(text))
            yield RawEvent(
                bytes(body) if body is not None else b"",
                partition,
                int(record["SequenceNumber"]),
                str(record["Offset"]),
                last_time,
            )
            position += 1
    except CaptureDamaged:
        raise
    except Exception as exc:  # fastavro raises several types on damaged input; all mean the same here
        raise CaptureDamaged(blob, position, f"{type(exc).__name__}: {exc}") from None
