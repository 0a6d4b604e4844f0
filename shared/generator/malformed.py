"""Broken bodies: the varied ways real producers get an event wrong.

Each kind yields a body that the contract refuses (never a valid event by accident)
and contains no line break, so it stays one line of a JSON Lines file.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import orjson

__all__ = ["MALFORMED_KINDS", "malform"]


@dataclass(frozen=True, slots=True)
class _Shape:
    """Where each kind of damage can be done in one source's bodies."""

    timestamps: tuple[str, ...]
    money: tuple[str, ...] = ()
    counts: tuple[str, ...] = ()
    """Integer fields with a lower bound."""
    enums: tuple[tuple[str, str], ...] = ()
    """(field, a value outside its enum)."""
    strings: tuple[str, ...] = ()


_ENVELOPE: Final = ("event_id", "event_type", "schema_version", "source_system")
SHAPES: Final = {
    "txn": _Shape(
        ("posted_ts",),
        ("amount",),
        (),
        (("txn_type", "return"), ("channel", "kiosk")),
        ("transaction_id", "account_id", "merchant_id", "currency"),
    ),
    "traffic": _Shape(("period_start",), (), ("visitors", "period_seconds"), (), ("store_id", "sensor_id")),
    "fulfillment": _Shape(
        ("status_ts", "order_placed_ts", "promised_ts"),
        (),
        ("items",),
        (("status", "lost"), ("method", "drone"), ("channel", "fax")),
        ("order_id", "store_id"),
    ),
    "ingest": _Shape(("event_ts",), (), ("size_bytes",), (), ("record_key", "source_system_id", "payload_hash")),
    "ops": _Shape(("message_ts",), (), (), (("log_level", "FATAL"),), ("log_id", "service_id", "instance_id")),
    "gov": _Shape(("checked_ts",), (), (), (("check_status", "ok"),), ("dq_id", "dataset_id", "check_name")),
    "cost": _Shape(
        ("start_ts", "end_ts"),
        ("cost_amount",),
        (),
        (),
        ("usage_id", "resource_id", "resource_type", "cost_center_id", "currency"),
    ),
}

NOT_JSON: Final = (
    b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    b"ERROR: upstream connect error or disconnect/reset before headers",
    b"event_id=42;amount=12.50;currency=EUR",
    b"{'event_id': 'python-repr', 'schema_version': 1}",
    b'{"event_id": "trailing-comma", "schema_version": 1,}',
    b"\x00\x01\x02\x03binary frame",
)
_PLACEHOLDER: Final = "\x1fPLACEHOLDER\x1f"
_PLACEHOLDER_JSON: Final = b'"\\u001fPLACEHOLDER\\u001f"'
"""How orjson writes the placeholder string: swapped afterwards for raw bytes."""

Mutation = Callable[[random.Random, dict[str, Any], bytes, _Shape], bytes]


def _not_json(rng: random.Random, body: dict[str, Any], raw: bytes, shape: _Shape) -> bytes:
    return rng.choice(NOT_JSON)


def _truncated(rng: random.Random, body: dict[str, Any], raw: bytes, shape: _Shape) -> bytes:
    return raw[: rng.randrange(1, len(raw) - 1)]  # an object without its closing brace


def _empty(rng: random.Random, body: dict[str, Any], raw: bytes, shape: _Shape) -> bytes:
    return b""


def _not_object(rng: random.Random, body: dict[str, Any], raw: bytes, shape: _Shape) -> bytes:
    return rng.choice((b"[" + raw + b"]", b"42", b"null", b'"transaction"', b"[]"))


def _missing_field(rng: random.Random, body: dict[str, Any], raw: bytes, shape: _Shape) -> bytes:
    required = [*_ENVELOPE, *shape.timestamps, *shape.money, *shape.counts, *shape.strings]
    del body[rng.choice(required)]
    return orjson.dumps(body)


def _wrong_type(rng: random.Random, body: dict[str, Any], raw: bytes, shape: _Shape) -> bytes:
    choices: list[tuple[str, Any]] = [("event_id", 1234567), ("source_system", ["pos"]), ("schema_version", "1")]
    choices += [(f, "12.50") for f in shape.money]
    choices += [(f, "many") for f in shape.counts]
    choices += [(f, {"value": body[f]}) for f in shape.strings]
    choices += [(f, True) for f in shape.timestamps]
    if "lines" in body:
        choices.append(("lines", "3 items"))
    field, value = rng.choice(choices)
    body[field] = value
    return orjson.dumps(body)


def _invalid_utf8(rng: random.Random, body: dict[str, Any], raw: bytes, shape: _Shape) -> bytes:
    body["source_system"] = _PLACEHOLDER
    return orjson.dumps(body).replace(_PLACEHOLDER_JSON, b'"pos-\xff\xfe-1"')


def _schema_version(rng: random.Random, body: dict[str, Any], raw: bytes, shape: _Shape) -> bytes:
    body["schema_version"] = rng.choice((0, 2, 3, 7, 99))
    return orjson.dumps(body)


def _event_type(rng: random.Random, body: dict[str, Any], raw: bytes, shape: _Shape) -> bytes:
    body["event_type"] = rng.choice(("sale", "heartbeat", "Transaction", ""))
    return orjson.dumps(body)


def _no_offset(rng: random.Random, body: dict[str, Any], raw: bytes, shape: _Shape) -> bytes:
    field = rng.choice(shape.timestamps)
    body[field] = body[field].rstrip("Z")
    return orjson.dumps(body)


def _bad_timestamp(rng: random.Random, body: dict[str, Any], raw: bytes, shape: _Shape) -> bytes:
    field = rng.choice(shape.timestamps)
    body[field] = rng.choice(("2026-02-30T10:00:00Z", "yesterday", "26/11/2026 10:05", "2026-11-26T25:61:00Z"))
    return orjson.dumps(body)


def _three_decimals(rng: random.Random, body: dict[str, Any], raw: bytes, shape: _Shape) -> bytes:
    field = rng.choice(shape.money)
    value = f"{body[field]:.2f}{rng.randrange(1, 10)}"
    body[field] = _PLACEHOLDER
    return orjson.dumps(body).replace(_PLACEHOLDER_JSON, value.encode())


def _out_of_range(rng: random.Random, body: dict[str, Any], raw: bytes, shape: _Shape) -> bytes:
    choices: list[tuple[str, Any]] = [(f, -round(abs(body[f]) + 1.25, 2)) for f in shape.money]
    choices += [(f, -1 if f != "period_seconds" else rng.choice((0, 3601))) for f in shape.counts]
    choices += [(f, 0) for f in shape.counts if f == "items"]
    choices.append(("event_id", "x" * 200))
    field, value = rng.choice(choices)
    body[field] = value
    return orjson.dumps(body)


def _not_a_number(rng: random.Random, body: dict[str, Any], raw: bytes, shape: _Shape) -> bytes:
    field = rng.choice([*shape.money, *shape.counts] or ["schema_version"])
    body[field] = _PLACEHOLDER
    token = rng.choice((b"NaN", b"Infinity", b"-Infinity"))
    return orjson.dumps(body).replace(_PLACEHOLDER_JSON, token)


def _bad_enum(rng: random.Random, body: dict[str, Any], raw: bytes, shape: _Shape) -> bytes:
    field, value = rng.choice(shape.enums)
    body[field] = value
    return orjson.dumps(body)


def _source_rule(rng: random.Random, body: dict[str, Any], raw: bytes, shape: _Shape) -> bytes:
    """A rule of one source beyond field types."""
    if "lines" in body:
        if rng.random() < 0.5:
            body["lines"] = []
        else:
            body["transaction_id"] = body["transaction_id"] + "-x"
    elif "end_ts" in body:
        body["start_ts"], body["end_ts"] = body["end_ts"], body["start_ts"]
    elif "payload_hash" in body:
        body["payload_hash"] = body["payload_hash"][:40]
    elif "message" in body:
        body["message"] = "x" * 9000
    else:
        body["event_id"] = ""
    return orjson.dumps(body)


MALFORMED_KINDS: Final[dict[str, Mutation]] = {
    "not_json": _not_json,
    "truncated": _truncated,
    "empty": _empty,
    "not_object": _not_object,
    "missing_field": _missing_field,
    "wrong_type": _wrong_type,
    "invalid_utf8": _invalid_utf8,
    "unknown_schema_version": _schema_version,
    "unknown_event_type": _event_type,
    "timestamp_without_offset": _no_offset,
    "bad_timestamp": _bad_timestamp,
    "three_decimals": _three_decimals,
    "out_of_range": _out_of_range,
    "not_a_number": _not_a_number,
    "bad_enum": _bad_enum,
    "source_rule": _source_rule,
}


def _applicable(source: str) -> list[str]:
    shape = SHAPES[source]
    kinds = list(MALFORMED_KINDS)
    if not shape.money:
        kinds.remove("three_decimals")
    if not shape.enums:
        kinds.remove("bad_enum")
    return kinds


_KINDS_BY_SOURCE: Final = {source: _applicable(source) for source in SHAPES}


def malform(rng: random.Random, source: str, raw: bytes) -> tuple[str, bytes]:
    """(kind, broken body) made from the valid body `raw` of `source`."""
    kind = rng.choice(_KINDS_BY_SOURCE[source])
    body = orjson.loads(raw)
    return kind, MALFORMED_KINDS[kind](rng, body, raw, SHAPES[source])
