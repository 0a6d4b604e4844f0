"""Adversarial bodies per source: each becomes one dead letter with the expected reason; the rest pass."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import orjson
import pytest

from shared.contracts import EVENT_MODELS, EVENT_TIME_FIELD
from shared.pipeline.dead_letters import ReasonCode
from shared.pipeline.raw import RawEvent
from shared.pipeline.validation import validate_batch
from shared.topology import SOURCES, Source
from tests.support.samples import NOW, body, sample

R = ReasonCode


def _time_field(source: Source) -> str:
    return EVENT_TIME_FIELD[EVENT_MODELS[source][0]]


def _at(source: Source, ts: str) -> bytes:
    """A valid event of `source` whose event time is `ts` (a cost record keeps end after start,
    an order status its placing and promise around it)."""
    end = (datetime.fromisoformat(ts) + timedelta(hours=1)).isoformat()
    extra = {"end_ts": end} if source == "cost" else {}
    if source == "fulfillment":
        extra = {"order_placed_ts": ts, "promised_ts": end}
    return body(source, 9, **{_time_field(source): ts}, **extra)


def _without(source: Source, field: str) -> bytes:
    event = sample(source, 9)
    del event[field]
    return orjson.dumps(event)


GENERIC: dict[str, tuple[Callable[[Source], bytes], ReasonCode | None]] = {
    "invalid utf-8": (lambda s: body(s, 9)[:-2] + b'\xff"}', R.INVALID_UTF8),
    "invalid utf-8 in a string": (lambda s: body(s, 9).replace(b"test-1", b"te\xc3\x28st"), R.INVALID_UTF8),
    "not json": (lambda s: b"this is not json", R.NOT_JSON),
    "truncated json": (lambda s: body(s, 9)[:40], R.NOT_JSON),
    "empty body": (lambda s: b"", R.EMPTY_BODY),
    "whitespace body": (lambda s: b"  \n ", R.EMPTY_BODY),
    "json array": (lambda s: b"[" + body(s, 9) + b"]", R.NOT_AN_OBJECT),
    "json scalar": (lambda s: b"42", R.NOT_AN_OBJECT),
    "json string": (lambda s: b'"hello"', R.NOT_AN_OBJECT),
    "two objects in one body": (lambda s: body(s, 9) + b"," + body(s, 10), R.NOT_JSON),
    "NaN": (lambda s: body(s, 9)[:-1] + b',"x":NaN}', R.NOT_JSON),
    "Infinity": (lambda s: body(s, 9)[:-1] + b',"x":Infinity}', R.NOT_JSON),
    "nesting 100,000 deep": (lambda s: b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", R.TOO_DEEP),
    "nesting 40 deep": (lambda s: b'{"a":' + b"[" * 40 + b"]" * 40 + b"}", R.TOO_DEEP),
    "5 MiB body": (lambda s: body(s, 9)[:-1] + b',"pad":"' + b"x" * (5 << 20) + b'"}', R.BODY_TOO_LARGE),
    "string of 9,000 chars": (lambda s: body(s, 9, source_system="x" * 9000), R.STRING_TOO_LONG),
    "missing event_id": (lambda s: _without(s, "event_id"), R.MISSING_FIELD),
    "missing event_type": (lambda s: _without(s, "event_type"), R.MISSING_FIELD),
    "missing event time": (lambda s: _without(s, _time_field(s)), R.MISSING_FIELD),
    "extra field": (lambda s: body(s, 9, shoe_size=44), R.UNEXPECTED_FIELD),
    "mistyped event_id": (lambda s: body(s, 9, event_id=123), R.INVALID_FIELD),
    "schema_version as string": (lambda s: body(s, 9, schema_version="1"), R.INVALID_FIELD),
    "boolean as version": (lambda s: body(s, 9, schema_version=True), R.INVALID_FIELD),
    "unknown schema_version": (lambda s: body(s, 9, schema_version=7), R.UNKNOWN_SCHEMA_VERSION),
    "unknown event_type": (lambda s: body(s, 9, event_type="teleport"), R.UNKNOWN_EVENT_TYPE),
    "empty source_system": (lambda s: body(s, 9, source_system=""), R.INVALID_FIELD),
    "timestamp without offset": (lambda s: body(s, 9, **{_time_field(s): "2026-11-26T10:05:03"}), R.INVALID_FIELD),
    "timestamp as epoch number": (lambda s: body(s, 9, **{_time_field(s): 1795000000}), R.INVALID_FIELD),
    "timestamp not a date": (lambda s: body(s, 9, **{_time_field(s): "yesterday"}), R.INVALID_FIELD),
    "far in the future": (lambda s: _at(s, "2027-01-01T00:00:00Z"), R.FUTURE_TIMESTAMP),
    "just inside the future allowance": (lambda s: _at(s, "2026-11-26T12:04:59Z"), None),
    "just inside the lateness": (lambda s: _at(s, "2026-11-19T12:00:01Z"), None),
    "older than lateness": (lambda s: _at(s, "2026-11-01T00:00:00Z"), R.TOO_LATE),
}

SPECIFIC: dict[Source, dict[str, tuple[Callable[[], bytes], ReasonCode]]] = {
    "txn": {
        "3-decimal amount": (lambda: body("txn", 9, amount=30.455), R.INVALID_FIELD),
        "3-decimal unit price": (
            lambda: body("txn", 9, lines=[{"product_id": "P1", "quantity": 1, "unit_price": 1.005}]),
            R.INVALID_FIELD,
        ),
        "negative amount": (lambda: body("txn", 9, amount=-30.45), R.INVALID_FIELD),
        "zero amount": (lambda: body("txn", 9, amount=0), R.INVALID_FIELD),
        "amount as string": (lambda: body("txn", 9, amount="30.45"), R.INVALID_FIELD),
        "quantity zero": (
            lambda: body("txn", 9, lines=[{"product_id": "P1", "quantity": 0, "unit_price": 1.0}]),
            R.INVALID_FIELD,
        ),
        "no lines": (lambda: body("txn", 9, lines=[]), R.INVALID_FIELD),
        "501 lines": (
            lambda: body("txn", 9, lines=[{"product_id": "P", "quantity": 1, "unit_price": 1.0}] * 501),
            R.INVALID_FIELD,
        ),
        "unknown channel": (lambda: body("txn", 9, channel="phone"), R.INVALID_FIELD),
        "transaction_id differs": (lambda: body("txn", 9, transaction_id="other"), R.INVALID_FIELD),
        "lower-case currency": (lambda: body("txn", 9, currency="eur"), R.INVALID_FIELD),
    },
    "traffic": {
        "negative visitors": (lambda: body("traffic", 9, visitors=-1), R.INVALID_FIELD),
        "period of 0 s": (lambda: body("traffic", 9, period_seconds=0), R.INVALID_FIELD),
        "period over an hour": (lambda: body("traffic", 9, period_seconds=3601), R.INVALID_FIELD),
        "visitors as float": (lambda: body("traffic", 9, visitors=7.0), R.INVALID_FIELD),
    },
    "fulfillment": {
        "unknown status": (lambda: body("fulfillment", 9, status="lost"), R.INVALID_FIELD),
        "zero items": (lambda: body("fulfillment", 9, items=0), R.INVALID_FIELD),
        "promise without offset": (lambda: body("fulfillment", 9, promised_ts="2026-11-27T10:00"), R.INVALID_FIELD),
    },
    "ingest": {
        "hash not hex": (lambda: body("ingest", 9, payload_hash="z" * 64), R.INVALID_FIELD),
        "negative size": (lambda: body("ingest", 9, size_bytes=-5), R.INVALID_FIELD),
    },
    "ops": {
        "unknown level": (lambda: body("ops", 9, log_level="FATAL"), R.INVALID_FIELD),
        "message over 8 KiB": (lambda: body("ops", 9, message="m" * 8193), R.STRING_TOO_LONG),
    },
    "gov": {
        "unknown status": (lambda: body("gov", 9, check_status="maybe"), R.INVALID_FIELD),
    },
    "cost": {
        "negative cost": (lambda: body("cost", 9, cost_amount=-1.0), R.INVALID_FIELD),
        "3-decimal cost": (lambda: body("cost", 9, cost_amount=1.001), R.INVALID_FIELD),
        "end before start": (lambda: body("cost", 9, end_ts="2026-11-26T08:00:00Z"), R.INVALID_FIELD),
    },
}

CASES = [
    pytest.param(source, make, code, id=f"{source}: {name}")
    for source in SOURCES
    for name, (make, code) in GENERIC.items()
] + [
    pytest.param(source, lambda s, make=make: make(), code, id=f"{source}: {name}")
    for source, table in SPECIFIC.items()
    for name, (make, code) in table.items()
]


@pytest.mark.parametrize(("source", "make_bad", "expected"), CASES)
def test_bad_body_is_dead_lettered_and_the_rest_of_the_batch_is_accepted(
    source: Source, make_bad: Callable[[Source], bytes], expected: ReasonCode | None
) -> None:
    bad = make_bad(source)
    raws = [RawEvent(body(source, n), "3", 100 + n, str(4000 + n)) for n in range(20)]
    raws.insert(7, RawEvent(bad, "3", 99, "3999"))

    result = validate_batch(source, raws, NOW)

    if expected is None:  # a boundary case that must pass
        assert result.dead_letters == []
        assert len(result.accepted) == 21
        return
    assert [v.event.event_id for v in result.accepted] == [f"{source}-{n:06d}" for n in range(20)]
    assert len(result.dead_letters) == 1
    letter = result.dead_letters[0]
    assert letter.reason_code == expected, letter.reason
    assert letter.raw == bad
    assert (letter.partition, letter.sequence_number, letter.offset) == ("3", 99, "3999")
    assert letter.reason and len(letter.reason) < 1000
    assert result.received == 21


def test_valid_samples_of_every_source_are_accepted() -> None:
    for source in SOURCES:
        result = validate_batch(source, [RawEvent(body(source))], NOW)
        assert result.dead_letters == [], result.dead_letters
        assert result.accepted[0].event.event_id == f"{source}-000001"
