"""Capture's blob names: ``{namespace}/{hub}/{partition}/{yyyy}/{MM}/{dd}/{HH}/{mm}/{ss}.avro``.

That is Event Hubs Capture's default archive name format; the time is the start of
the capture window (UTC). Names sort by time within a partition because every field
is zero-padded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["CaptureBlobName", "blob_name", "parse_blob_name"]


@dataclass(frozen=True, slots=True, order=True)
class CaptureBlobName:
    """The parts of one capture blob's name."""

    namespace: str
    hub: str
    partition: str
    window_start: datetime
    name: str


def blob_name(namespace: str, hub: str, partition: str, window_start: datetime) -> str:
    """The blob name Capture gives the window of `hub`/`partition` starting at `window_start`."""
    if window_start.tzinfo is None:
        raise ValueError(f"window_start must be timezone-aware, got {window_start!r}")
    t = window_start.astimezone(UTC)
    return f"{namespace}/{hub}/{partition}/{t:%Y/%m/%d/%H/%M/%S}.avro"


def parse_blob_name(name: str) -> CaptureBlobName | None:
    """The parts of `name`, or None if it is not a capture blob (other files in the container are ignored)."""
    parts = name.split("/")
    if len(parts) != 9 or not parts[8].endswith(".avro"):
        return None
    namespace, hub, partition, year, month, day, hour, minute = parts[:8]
    second = parts[8][: -len(".avro")]
    try:
        start = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    except ValueError:
        return None
    if not (namespace and hub and partition):
        return None
    return CaptureBlobName(namespace, hub, partition, start, name)
