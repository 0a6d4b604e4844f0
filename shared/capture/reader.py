"""Stream captured messages of one hub, partition by partition, in sequence order, with bounded memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.capture.avro_format import CaptureDamaged, read_records
from shared.capture.layout import CaptureBlobName, parse_blob_name
from shared.capture.port import CaptureStore
from shared.pipeline.raw import RawEvent

__all__ = ["CaptureRange", "captured_blobs", "captured_messages"]

_WINDOW_SLACK = timedelta(minutes=15)
"""Capture windows last at most 15 minutes: a blob named up to this long before `start` may hold messages after it."""


@dataclass(frozen=True, slots=True)
class CaptureRange:
    """Which messages to read: one hub, optionally one partition and an enqueued-time range [start, end)."""

    hub: str
    namespace: str | None = None
    partition: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def takes(self, enqueued: datetime | None) -> bool:
        if enqueued is None:
            return True
        return (self.start is None or enqueued >= self.start) and (self.end is None or enqueued < self.end)


def captured_blobs(store: CaptureStore, wanted: CaptureRange) -> list[CaptureBlobName]:
    """The capture blobs that may hold messages of `wanted`, sorted by partition then window."""
    prefix = f"{wanted.namespace}/{wanted.hub}/" if wanted.namespace else ""
    if wanted.namespace and wanted.partition is not None:
        prefix += f"{wanted.partition}/"
    blobs = []
    for name in store.list_names(prefix):
        blob = parse_blob_name(name)
        if blob is None or blob.hub != wanted.hub:
            continue
        if wanted.partition is not None and blob.partition != wanted.partition:
            continue
        if wanted.end is not None and blob.window_start >= wanted.end:
            continue
        if wanted.start is not None and blob.window_start < wanted.start - _WINDOW_SLACK:
            continue
        blobs.append(blob)
    blobs.sort(key=lambda b: (_partition_order(b.partition), b.window_start, b.name))
    return blobs


def captured_messages(
    store: CaptureStore,
    wanted: CaptureRange,
    *,
    skip_damaged: bool = False,
    on_damaged: Callable[[CaptureDamaged], None] | None = None,
    on_blob: Callable[[int], None] | None = None,
) -> Iterator[RawEvent]:
    """Every captured message of `wanted`, partition after partition, in sequence order.

    A damaged blob raises `CaptureDamaged` (name and record position) unless
    `skip_damaged`, when the good records before the damage are kept, the rest of
    that blob is skipped, and `on_damaged` is told. `on_blob` hears how many blobs were opened so far.
    """
    for index, blob in enumerate(captured_blobs(store, wanted)):
        if on_blob is not None:
            on_blob(index)
        with store.open_read(blob.name) as stream:
            try:
                for raw in read_records(stream, blob.name, blob.partition):
                    if wanted.takes(raw.enqueued_time):
                        yield raw
            except CaptureDamaged as damaged:
                if not skip_damaged:
                    raise
                if on_damaged is not None:
                    on_damaged(damaged)


def _partition_order(partition: str) -> tuple[int, str]:
    return (int(partition), "") if partition.isdigit() else (1 << 30, partition)
