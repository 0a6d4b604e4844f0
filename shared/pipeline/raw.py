"""A raw message as it came off the wire, with where it came from."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

__all__ = ["RawEvent"]


class RawEvent(NamedTuple):
    """One message body and its position in the hub (when known).

    A NamedTuple (immutable, and several times cheaper to build than a frozen
    dataclass): hosts create one per message.
    """

    body: bytes
    partition: str | None = None
    sequence_number: int | None = None
    offset: str | None = None
    enqueued_time: datetime | None = None
