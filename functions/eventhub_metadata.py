"""Where each message of an Event Hubs trigger batch came from: partition, sequence number, offset, time.

The exactly-once logic needs the partition id and every message's sequence number.
The trigger hands them over in two shapes, depending on the extension version:

* per event: ``EventHubEvent.sequence_number`` / ``offset`` / ``enqueued_time``,
  decoded by the worker from ``SystemPropertiesArray``; or the batch-level arrays
  ``SequenceNumberArray`` / ``OffsetArray`` / ``EnqueuedTimeUtcArray`` of the
  trigger metadata (both are read; if both are present they must agree);
* the partition in ``PartitionContext``: ``PartitionId`` at its top level
  (extension 5.x and later: ``{FullyQualifiedNamespace, EventHubName, ConsumerGroup,
  PartitionId}``), or ``RuntimeInformation.PartitionId`` (extension 3.x/4.x).

If neither shape yields a partition and a sequence number for every message,
`raw_events` raises `MissingPositionError` naming what is missing: guessing would
silently break exactly-once. Pure: no Azure import, so it is unit-tested directly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from shared.handlers.ingest import MissingPositionError
from shared.pipeline.raw import RawEvent

__all__ = ["MissingPositionError", "TriggerEvent", "partition_id", "raw_events"]


class TriggerEvent(Protocol):
    """What `raw_events` reads of an ``azure.functions.EventHubEvent``."""

    def get_body(self) -> bytes: ...

    @property
    def sequence_number(self) -> int | None: ...

    @property
    def offset(self) -> Any: ...

    @property
    def enqueued_time(self) -> datetime | None: ...

    @property
    def metadata(self) -> Mapping[str, Any] | None: ...


def raw_events(events: Sequence[TriggerEvent]) -> list[RawEvent]:
    """The batch as `RawEvent`s of one partition, in sequence-number order; raises `MissingPositionError`."""
    if not events:
        return []
    metadata = _lowered(events[0].metadata or {})
    partition = partition_id(metadata)
    sequences = _column(metadata, "sequencenumberarray", len(events))
    offsets = _column(metadata, "offsetarray", len(events))
    times = _column(metadata, "enqueuedtimeutcarray", len(events))
    raws = []
    for i, event in enumerate(events):
        sequence = _agree("sequence number", i, event.sequence_number, _int(sequences[i]))
        if partition is None or sequence is None:
            raise MissingPositionError(_missing(partition, i, sorted(metadata)))
        offset = event.offset if event.offset is not None else offsets[i]
        enqueued = event.enqueued_time or _time(times[i])
        raws.append(
            RawEvent(
                event.get_body(),
                partition,
                sequence,
                None if offset is None else str(offset),
                None if enqueued is None else _utc(enqueued),
            )
        )
    raws.sort(key=lambda raw: raw.sequence_number or 0)
    return raws


def partition_id(metadata: Mapping[str, Any]) -> str | None:
    """The partition id in the trigger metadata (either shape, keys in any case), or None."""
    context = _lowered(metadata).get("partitioncontext")
    if isinstance(context, str | bytes):
        try:
            context = json.loads(context)
        except ValueError:
            return None
    if not isinstance(context, Mapping):
        return None
    context = _lowered(context)
    value = context.get("partitionid")
    if value is None and isinstance(context.get("runtimeinformation"), Mapping):
        value = _lowered(context["runtimeinformation"]).get("partitionid")
    return None if value is None or str(value) == "" else str(value)


def _lowered(mapping: Mapping[str, Any]) -> dict[str, Any]:
    # The host serialises binding data from .NET: PascalCase today, but never rely on case.
    return {str(key).lower(): value for key, value in mapping.items()}


def _column(metadata: Mapping[str, Any], key: str, size: int) -> list[Any]:
    value = metadata.get(key)
    if isinstance(value, str | bytes):
        value = json.loads(value)
    if value is None:
        return [None] * size
    values = list(value)
    if len(values) != size:
        raise MissingPositionError(f"trigger metadata {key} has {len(values)} entries for a batch of {size} events")
    return values


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _agree(what: str, index: int, per_event: int | None, from_array: int | None) -> int | None:
    if per_event is not None and from_array is not None and per_event != from_array:
        raise MissingPositionError(
            f"event {index}: the {what} of the event ({per_event}) and of the batch metadata ({from_array}) differ"
        )
    return per_event if per_event is not None else from_array


def _time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    text = str(value).replace("Z", "+00:00")
    # .NET writes 7 fractional digits; Python reads at most 6.
    head, dot, tail = text.partition(".")
    if dot:
        digits = len(tail) - len(tail.lstrip("0123456789"))
        text = f"{head}.{tail[: min(digits, 6)]}{tail[digits:]}"
    return datetime.fromisoformat(text)


def _utc(value: datetime) -> datetime:
    # The host sends EnqueuedTimeUtc without an offset ("DateTime" of kind unspecified): it is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _missing(partition: str | None, index: int, keys: list[str]) -> str:
    what = "partition id (PartitionContext.PartitionId)" if partition is None else f"sequence number of event {index}"
    return (
        f"Event Hubs trigger metadata has no {what}; exactly-once needs the partition and every sequence number. "
        f"Metadata keys present: {', '.join(keys) or 'none'}. Check the function uses cardinality=many and "
        "extension bundle [4.*, 5.0.0)."
    )
