"""Dead letters: a rejected event's exact bytes, where it came from, and why, in words.

In the store a letter's bytes are sealed (`sealing.BodySealer`: envelope encryption)
and shown only masked (`masking.mask_personal`): ``sealed`` opens only with the
key-encryption key, which only replay uses; ``body_masked`` is what `dlq list` shows.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.pipeline.masking import mask_personal
from shared.pipeline.raw import RawEvent
from shared.pipeline.sealing import BodySealer
from shared.topology import Source

__all__ = ["DeadLetter", "ReasonCode", "dead_letter", "dead_letter_id"]


class ReasonCode(StrEnum):
    """Why an event was rejected; stable codes for counting and alerting."""

    BODY_TOO_LARGE = "body_too_large"
    EMPTY_BODY = "empty_body"
    INVALID_UTF8 = "invalid_utf8"
    NOT_JSON = "not_json"
    NOT_AN_OBJECT = "not_an_object"
    TOO_DEEP = "too_deeply_nested"
    STRING_TOO_LONG = "string_too_long"
    UNKNOWN_SCHEMA_VERSION = "unknown_schema_version"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    MISSING_FIELD = "missing_field"
    UNEXPECTED_FIELD = "unexpected_field"
    INVALID_FIELD = "invalid_field"
    FUTURE_TIMESTAMP = "future_timestamp"
    TOO_LATE = "too_late"
    UNKNOWN_CURRENCY = "unknown_currency"
    VALUE_OUT_OF_RANGE = "value_out_of_range"
    """A sum (units, cents...) would pass the largest integer the stores keep exactly."""
    STORE_REFUSED = "store_refused"
    """The document store refused what the event makes (e.g. a document past its size limit)."""
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    """An event id seen before with different content: never counted twice, never dropped silently."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A rejected event. `raw` is kept byte for byte so it can be replayed."""

    source: Source
    reason_code: ReasonCode
    reason: str
    raw: bytes
    partition: str | None
    sequence_number: int | None
    offset: str | None
    rejected_at: datetime
    event_id: str | None = None
    enqueued_at: datetime | None = None
    """When the message entered the hub (its enqueued time), when known: a replay is judged as of then."""

    @property
    def id(self) -> str:
        """Stable id: the same message rejected twice is one dead letter."""
        if self.partition is not None and self.sequence_number is not None:
            return dead_letter_id(self.source, self.partition, self.sequence_number)
        return f"{self.source}:sha256:{hashlib.sha256(self.raw).hexdigest()[:32]}"

    def to_document(self, sealer: BodySealer | None) -> dict[str, Any]:
        """JSON-ready form for the `deadletters` container: the body sealed by `sealer`, plus a masked copy.

        `sealer` None keeps the bytes in clear as base64 (``raw_b64``): only for
        `pulse validate --dead-letters FILE`, a local export of the caller's own file.
        """
        doc: dict[str, Any] = {
            "id": self.id,
            "pk": f"{self.source}:{self.rejected_at.date().isoformat()}",
            "source": self.source,
            "reason_code": self.reason_code.value,
            "reason": self.reason,
            "body_masked": mask_personal(self.raw),
            "body_bytes": len(self.raw),
            "partition": self.partition,
            "sequence_number": self.sequence_number,
            "offset": self.offset,
            "rejected_at": self.rejected_at.isoformat(),
            "event_id": self.event_id,
            "enqueued_at": None if self.enqueued_at is None else self.enqueued_at.isoformat(),
        }
        if sealer is None:
            doc["raw_b64"] = base64.b64encode(self.raw).decode("ascii")
        else:
            doc["sealed"] = sealer.seal(self.raw, self.id)
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any], sealer: BodySealer) -> DeadLetter:
        """Inverse of `to_document`: opens the sealed body (replay is the one caller)."""
        raw = sealer.open(doc["sealed"], doc["id"]) if "sealed" in doc else base64.b64decode(doc["raw_b64"])
        return cls(
            source=doc["source"],
            reason_code=ReasonCode(doc["reason_code"]),
            reason=doc["reason"],
            raw=raw,
            partition=doc.get("partition"),
            sequence_number=doc.get("sequence_number"),
            offset=doc.get("offset"),
            rejected_at=datetime.fromisoformat(doc["rejected_at"]),
            event_id=doc.get("event_id"),
            enqueued_at=datetime.fromisoformat(doc["enqueued_at"]) if doc.get("enqueued_at") else None,
        )


def dead_letter_id(source: str, partition: str, sequence_number: int) -> str:
    """The id of the dead letter of the message at (partition, sequence) of `source`'s hub."""
    return f"{source}:{partition}:{sequence_number}"


def dead_letter(
    source: Source,
    raw: RawEvent,
    code: ReasonCode,
    reason: str,
    now: datetime,
    event_id: str | None = None,
) -> DeadLetter:
    """Build the dead letter of `raw`, keeping its position in the hub."""
    return DeadLetter(
        source=source,
        reason_code=code,
        reason=reason,
        raw=raw.body,
        partition=raw.partition,
        sequence_number=raw.sequence_number,
        offset=raw.offset,
        rejected_at=now,
        event_id=event_id,
        enqueued_at=raw.enqueued_time,
    )
