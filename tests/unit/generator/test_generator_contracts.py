"""Every generated body obeys docs/contracts.md (checked field by field here, and by
`shared.contracts` when it exists); every malformed body is refused by both."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from shared.generator import GeneratedEvent, generate
from shared.topology import SOURCES

START = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
TS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})")
HEX64 = re.compile(r"[0-9a-f]{64}")
CURRENCY = re.compile(r"[A-Z]{3}")

ENVELOPE = {"event_id": "id", "event_type": "str", "schema_version": "version", "source_system": "system"}
FIELDS: dict[str, tuple[str, dict[str, Any]]] = {
    "txn": (
        "transaction",
        {
            "transaction_id": "id",
            "account_id": "id",
            "customer_id": "id?",
            "merchant_id": "id",
            "channel": {"store", "web", "app"},
            "txn_type": {"sale", "refund", "void"},
            "amount": "money>0",
            "currency": "currency",
            "posted_ts": "ts",
            "lines": "lines",
        },
    ),
    "traffic": (
        "footfall",
        {
            "store_id": "id",
            "sensor_id": "id",
            "period_start": "ts",
            "period_seconds": "seconds",
            "visitors": "int>=0",
        },
    ),
    "fulfillment": (
        "order_status",
        {
            "order_id": "id",
            "store_id": "id",
            "channel": {"web", "app", "store"},
            "method": {"ship", "click_and_collect"},
            "status": {
                "placed",
                "picked",
                "packed",
                "shipped",
                "ready_for_pickup",
                "delivered",
                "collected",
                "cancelled",
            },
            "status_ts": "ts",
            "order_placed_ts": "ts",
            "promised_ts": "ts",
            "items": "int>=1",
        },
    ),
    "ingest": (
        "raw_event",
        {
            "record_key": "id",
            "source_system_id": "id",
            "payload_hash": "hex64",
            "size_bytes": "int>=0",
            "event_ts": "ts",
        },
    ),
    "ops": (
        "log",
        {
            "log_id": "id",
            "service_id": "id",
            "instance_id": "id",
            "log_level": {"DEBUG", "INFO", "WARN", "ERROR", "CRITICAL"},
            "message_ts": "ts",
            "error_code": "str?",
            "message": "message",
        },
    ),
    "gov": (
        "dq_check",
        {
            "dq_id": "id",
            "dataset_id": "id",
            "check_name": "id",
            "check_status": {"pass", "warn", "fail"},
            "checked_ts": "ts",
            "observed_value": "number?",
            "threshold": "number?",
        },
    ),
    "cost": (
        "cost_usage",
        {
            "usage_id": "id",
            "resource_id": "id",
            "resource_type": "id",
            "cost_center_id": "id",
            "cost_amount": "money>=0",
            "currency": "currency",
            "start_ts": "ts",
            "end_ts": "ts",
        },
    ),
}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _two_decimals(v: Any) -> bool:
    return _is_number(v) and abs(v * 100 - round(v * 100)) < 1e-6


def _real_instant(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _problem(kind: Any, value: Any) -> str | None:
    if isinstance(kind, set):
        return None if value in kind else f"{value!r} not in enum"
    if kind == "id":
        return None if isinstance(value, str) and 1 <= len(value) <= 128 else "not an id"
    if kind == "system":
        return None if isinstance(value, str) and 1 <= len(value) <= 64 else "not a source system"
    if kind in ("id?", "str?"):
        return None if value is None or (isinstance(value, str) and 1 <= len(value) <= 128) else "not id/null"
    if kind == "str":
        return None if isinstance(value, str) else "not a string"
    if kind == "version":
        return None if _is_int(value) and value == 1 else "schema_version is not 1"
    if kind == "ts":
        return None if isinstance(value, str) and TS.fullmatch(value) and _real_instant(value) else "not a timestamp"
    if kind == "money>0":
        return None if _two_decimals(value) and value > 0 else "not money > 0 with <= 2 decimals"
    if kind == "money>=0":
        return None if _two_decimals(value) and value >= 0 else "not money >= 0 with <= 2 decimals"
    if kind == "currency":
        return None if isinstance(value, str) and CURRENCY.fullmatch(value) else "not a currency"
    if kind == "int>=0":
        return None if _is_int(value) and value >= 0 else "not an int >= 0"
    if kind == "int>=1":
        return None if _is_int(value) and value >= 1 else "not an int >= 1"
    if kind == "seconds":
        return None if _is_int(value) and 1 <= value <= 3600 else "not 1..3600"
    if kind == "hex64":
        return None if isinstance(value, str) and HEX64.fullmatch(value) else "not hex sha256"
    if kind == "number?":
        return None if value is None or _is_number(value) else "not number/null"
    if kind == "message":
        return None if isinstance(value, str) and len(value.encode()) <= 8192 else "not a message <= 8 KiB"
    if kind == "lines":
        if not isinstance(value, list) or not 1 <= len(value) <= 500:
            return "lines not a list of 1..500"
        for line in value:
            if not isinstance(line, dict) or set(line) != {"product_id", "quantity", "unit_price"}:
                return "bad line keys"
            if _problem("id", line["product_id"]) or _problem("int>=1", line["quantity"]):
                return "bad line"
            if not (_two_decimals(line["unit_price"]) and line["unit_price"] >= 0):
                return "bad unit price"
        return None
    raise AssertionError(kind)


def contract_problems(source: str, body: bytes) -> list[str]:
    """Why `body` breaks docs/contracts.md for `source` (empty when it is valid)."""
    try:
        event = orjson.loads(body)  # also refuses invalid UTF-8, NaN and Infinity
    except orjson.JSONDecodeError:
        return ["not JSON"]
    if not isinstance(event, dict):
        return ["not an object"]
    event_type, own = FIELDS[source]
    spec = {**ENVELOPE, **own}
    problems = [f"missing {k}" for k in spec if k not in event]
    problems += [f"unknown field {k}" for k in event if k not in spec]
    problems += [f"{k}: {p}" for k, kind in spec.items() if k in event and (p := _problem(kind, event[k]))]
    if event.get("event_type") != event_type:
        problems.append("wrong event_type")
    if problems:
        return problems
    if source == "txn":
        if event["transaction_id"] != event["event_id"]:
            problems.append("transaction_id != event_id")
        cents = sum(round(line["unit_price"] * 100) * line["quantity"] for line in event["lines"])
        if cents != round(event["amount"] * 100):
            problems.append("lines do not sum to amount")
    if source == "cost" and not event["end_ts"] > event["start_ts"]:
        problems.append("end_ts not after start_ts")
    return problems


@pytest.fixture(scope="module")
def clean() -> list[GeneratedEvent]:
    return list(generate("all", 60_000, seed=11, start=START))


def test_every_clean_body_obeys_the_contract(clean: list[GeneratedEvent]) -> None:
    assert {e.source for e in clean} == set(SOURCES)
    failures = Counter((e.source, p) for e in clean for p in contract_problems(e.source, e.body))
    assert not failures


def test_event_ids_are_unique_per_source_and_times_follow_start(clean: list[GeneratedEvent]) -> None:
    ids = Counter((e.source, orjson.loads(e.body)["event_id"]) for e in clean)
    assert ids.most_common(1)[0][1] == 1
    start_ms = int(START.timestamp() * 1000)
    assert all(e.event_ms >= start_ms and e.delivery_ms >= e.event_ms for e in clean)
    assert [e.delivery_ms for e in clean] == sorted(e.delivery_ms for e in clean)


EVENT_TIME = {
    "txn": "posted_ts",
    "traffic": "period_start",
    "fulfillment": "status_ts",
    "ingest": "event_ts",
    "ops": "message_ts",
    "gov": "checked_ts",
    "cost": "start_ts",
}


def test_event_time_and_partition_key_match_the_body(clean: list[GeneratedEvent]) -> None:
    for e in clean:
        body = orjson.loads(e.body)
        stamped = datetime.fromisoformat(body[EVENT_TIME[e.source]])
        assert abs(stamped - e.event_time).total_seconds() < 1, (e.source, body)
        if e.source == "txn":
            assert e.partition_key == body["merchant_id"]
        elif e.source in ("traffic", "fulfillment"):
            assert e.partition_key == body["store_id"]


def test_money_is_serialised_with_at_most_two_decimals(clean: list[GeneratedEvent]) -> None:
    money = re.compile(rb'"(?:amount|unit_price|cost_amount)":(-?[0-9.eE+-]+)')
    for e in clean:
        for raw in money.findall(e.body):
            assert re.fullmatch(rb"\d+(\.\d{1,2})?", raw), raw


@pytest.mark.parametrize("source", SOURCES)
def test_every_malformed_body_is_refused(source: str) -> None:
    broken = list(generate(source, 400, seed=5, start=START, faults={"malformed": 1.0}))
    kinds = Counter(f for e in broken for f in e.faults)
    assert len(kinds) >= 12, kinds  # a varied mix
    for e in broken:
        assert contract_problems(source, e.body), (e.faults, e.body)
        assert b"\n" not in e.body and b"\r" not in e.body


def test_the_lead_contracts_agree_when_present(clean: list[GeneratedEvent]) -> None:
    contracts = pytest.importorskip("shared.contracts")
    for e in clean[::7]:
        contracts.event_adapter(e.source).validate_json(e.body)
    for source in SOURCES:
        for e in generate(source, 150, seed=9, start=START, faults={"malformed": 1.0}):
            with pytest.raises(Exception):  # noqa: B017 - any refusal will do: not JSON, invalid, ...
                contracts.event_adapter(source).validate_json(e.body)
