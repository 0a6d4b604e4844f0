"""A raw message as it came off the wire, with where it came from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["RawEvent"]


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One message body and its position in the hub (when known)."""

    body: bytes
    partition: str | None = None
    sequence_number: int | None = None
    offset: str | None = None
    enqueued_time: datetime | None = None
