"""Validate a batch of raw bodies into accepted events and dead letters; never raises on bad input.

Fast path: each body is validated alone by pydantic's Rust parser, straight from its
bytes, so an accepted event is always exactly one body (a joined JSON array would
let a body holding two objects, or two bodies cut inside one object, pass as the
right number of items; body by body measured ~4% dearer). Only a body that fails
takes the slow path that names the reason; the others are unaffected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import NamedTuple

from pydantic import ValidationError

from shared.contracts.registry import EVENT_TIME_FIELD, SCHEMA_VERSIONS, Event, event_adapter, fast_adapter
from shared.pipeline.dead_letters import DeadLetter, ReasonCode, dead_letter
from shared.pipeline.decode import DecodeFault, decode_object
from shared.pipeline.limits import Limits
from shared.pipeline.raw import RawEvent
from shared.pipeline.validation_errors import describe_validation_error
from shared.topology import Source

__all__ = ["ValidEvent", "ValidationResult", "validate_batch"]

_OPEN, _CLOSE = ord("{"), ord("}")


class ValidEvent(NamedTuple):
    """An event that passed its contract, with the raw message it came from."""

    event: Event
    raw: RawEvent


@dataclass(slots=True)
class ValidationResult:
    """Accepted events in arrival order, and the dead letters; received = both together."""

    source: Source
    accepted: list[ValidEvent] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    @property
    def received(self) -> int:
        return len(self.accepted) + len(self.dead_letters)


def validate_batch(
    source: Source, raws: list[RawEvent], now: datetime, limits: Limits | None = None
) -> ValidationResult:
    """Validate `raws` of one source at processing time `now` (timezone-aware).

    Event times are judged against each message's first receipt (its enqueued time;
    `now` for a message without one), so a redelivery or a retry hours later reaches
    the same verdict as the first delivery: lateness never depends on when it runs.
    """
    limits = limits or Limits()
    max_chars = limits.max_string_chars
    # Only compact single objects that cannot hide an over-long string join the batch.
    slow = [
        index
        for index, body in enumerate([raw.body for raw in raws])
        if not (0 < len(body) <= max_chars and body[0] == _OPEN and body[-1] == _CLOSE)
    ]
    skip = set(slow)
    fast = [index for index in range(len(raws)) if index not in skip] if skip else list(range(len(raws)))

    events: dict[int, Event] = {}
    slow.extend(_validate_fast(source, raws, fast, events))
    result = ValidationResult(source)
    if not slow:  # the common case: every body in one array, in order
        in_order = list(events.values())
        if _all_in_time(in_order, _received(raws, now), limits):
            result.accepted = list(map(ValidEvent, in_order, raws))
            return result
    rejected: dict[int, DeadLetter] = {}
    for index in slow:
        outcome = _validate_one(source, raws[index], now, limits)
        if isinstance(outcome, DeadLetter):
            rejected[index] = outcome
        else:
            events[index] = outcome

    for index in range(len(raws)):
        event = events.get(index)
        if event is None:
            result.dead_letters.append(rejected[index])
            continue
        late_or_future = _check_event_time(source, raws[index], event, now, limits)  # at its receipt
        if late_or_future is None:
            result.accepted.append(ValidEvent(event, raws[index]))
        else:
            result.dead_letters.append(late_or_future)
    return result


def _received(raws: list[RawEvent], now: datetime) -> tuple[datetime, datetime]:
    """The earliest and latest receipt (enqueued time) of `raws`."""
    times = [raw.enqueued_time or now for raw in raws]
    return (min(times), max(times)) if times else (now, now)


def _all_in_time(events: Iterable[Event], received: tuple[datetime, datetime], limits: Limits) -> bool:
    """True when every event time lies within [receipt - lateness, receipt + max_future] of every
    receipt in the batch (C-speed min/max; otherwise each event is judged at its own receipt)."""
    items = list(events)
    if not items or len(set(map(type, items))) != 1:
        return not items
    times: list[datetime] = list(map(attrgetter(EVENT_TIME_FIELD[type(items[0])]), items))
    first, last = received
    return min(times) >= last - limits.accepted_lateness and max(times) - first <= limits.max_future


def _validate_fast(source: Source, raws: list[RawEvent], indexes: list[int], out: dict[int, Event]) -> list[int]:
    """Validate each body of `indexes` alone into `out`; return the indexes that need the slow path."""
    validate = fast_adapter(source).validate_json
    slow: list[int] = []
    for index in indexes:
        try:
            out[index] = validate(raws[index].body)
        except ValidationError:
            slow.append(index)
    return slow


def _validate_one(source: Source, raw: RawEvent, now: datetime, limits: Limits) -> Event | DeadLetter:
    try:
        obj = decode_object(raw.body, limits)
    except DecodeFault as fault:
        return dead_letter(source, raw, fault.code, fault.reason, now)
    event_id = obj.get("event_id") if isinstance(obj.get("event_id"), str) else None
    version = obj.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version not in SCHEMA_VERSIONS:
        return dead_letter(
            source, raw, ReasonCode.UNKNOWN_SCHEMA_VERSION, f"unknown schema_version {version}", now, event_id
        )
    try:
        return event_adapter(source).validate_json(raw.body)
    except ValidationError as exc:
        code, reason = describe_validation_error(exc, source)
        return dead_letter(source, raw, code, reason, now, event_id)


def _check_event_time(source: Source, raw: RawEvent, event: Event, now: datetime, limits: Limits) -> DeadLetter | None:
    """Judge the event time against the message's receipt (enqueued time), never the retry's clock."""
    name = EVENT_TIME_FIELD[type(event)]
    ts: datetime = getattr(event, name)
    received = raw.enqueued_time or now
    if ts - received > limits.max_future:
        reason = f"{name} {ts.isoformat()} is more than {limits.max_future} ahead of its receipt {received.isoformat()}"
        return dead_letter(source, raw, ReasonCode.FUTURE_TIMESTAMP, reason, now, event.event_id)
    if received - ts > limits.accepted_lateness:
        reason = (
            f"{name} {ts.isoformat()} is older than the accepted lateness of {limits.accepted_lateness.days} days"
            f" at its receipt {received.isoformat()}"
        )
        return dead_letter(source, raw, ReasonCode.TOO_LATE, reason, now, event.event_id)
    return None
