"""Validate a batch of raw bodies into accepted events and dead letters; never raises on bad input.

Fast path: the whole batch is validated as one JSON array by pydantic's parser. Only
when that fails are the faulty bodies found (their error locations name them, or
orjson finds the syntax errors) and handled one by one; the rest is validated as a
batch again, so one bad event costs only itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import NamedTuple

import orjson
from pydantic import ValidationError

from shared.contracts.registry import EVENT_TIME_FIELD, SCHEMA_VERSIONS, Event, batch_adapter, event_adapter
from shared.pipeline.dead_letters import DeadLetter, ReasonCode, dead_letter
from shared.pipeline.decode import DecodeFault, decode_object
from shared.pipeline.limits import Limits
from shared.pipeline.raw import RawEvent
from shared.pipeline.validation_errors import describe_validation_error
from shared.topology import Source

__all__ = ["ValidEvent", "ValidationResult", "validate_batch"]

_MAX_BATCH_RETRIES = 3
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
    """Validate `raws` of one source at processing time `now` (timezone-aware)."""
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
        if _all_in_time(in_order, now, limits):
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
        late_or_future = _check_event_time(source, raws[index], event, now, limits)
        if late_or_future is None:
            result.accepted.append(ValidEvent(event, raws[index]))
        else:
            result.dead_letters.append(late_or_future)
    return result


def _all_in_time(events: Iterable[Event], now: datetime, limits: Limits) -> bool:
    """True when every event time lies within [now - lateness, now + max_future] (C-speed min/max)."""
    items = list(events)
    if not items or len(set(map(type, items))) != 1:
        return not items
    times: list[datetime] = list(map(attrgetter(EVENT_TIME_FIELD[type(items[0])]), items))
    return min(times) >= now - limits.accepted_lateness and max(times) - now <= limits.max_future


def _validate_fast(source: Source, raws: list[RawEvent], indexes: list[int], out: dict[int, Event]) -> list[int]:
    """Validate `indexes` as JSON arrays into `out`; return the indexes that need the slow path."""
    adapter = batch_adapter(source)
    slow: list[int] = []
    pending = indexes
    for _ in range(_MAX_BATCH_RETRIES):
        if not pending:
            return slow
        joined = b"[" + b",".join(raws[i].body for i in pending) + b"]"
        try:
            events = adapter.validate_json(joined)
        except ValidationError as exc:
            suspects = _suspects(exc, raws, pending)
            if not suspects:
                return slow + pending
            slow.extend(i for i in pending if i in suspects)
            pending = [i for i in pending if i not in suspects]
            continue
        if len(events) != len(pending):  # a body smuggled in extra array items
            return slow + pending
        out.update(zip(pending, events, strict=True))
        return slow
    return slow + pending


def _suspects(exc: ValidationError, raws: list[RawEvent], pending: list[int]) -> set[int]:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    if any(error["type"] == "json_invalid" for error in errors):
        return {i for i in pending if not _is_json(raws[i].body)}
    return {pending[loc[0]] for loc in (error["loc"] for error in errors) if loc and isinstance(loc[0], int)}


def _is_json(body: bytes) -> bool:
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return True


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
    name = EVENT_TIME_FIELD[type(event)]
    ts: datetime = getattr(event, name)
    if ts - now > limits.max_future:
        reason = f"{name} {ts.isoformat()} is more than {limits.max_future} ahead of processing time {now.isoformat()}"
        return dead_letter(source, raw, ReasonCode.FUTURE_TIMESTAMP, reason, now, event.event_id)
    if now - ts > limits.accepted_lateness:
        reason = f"{name} {ts.isoformat()} is older than the accepted lateness of {limits.accepted_lateness.days} days"
        return dead_letter(source, raw, ReasonCode.TOO_LATE, reason, now, event.event_id)
    return None
