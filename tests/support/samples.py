"""Valid example bodies of every source, to be broken on purpose by the tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from shared.topology import Source

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
"""Processing time used by the tests."""

TS = "2026-11-26T10:05:03.120Z"
"""An event time two hours before NOW."""


def sample(source: Source, n: int = 1, **overrides: Any) -> dict[str, Any]:
    """A valid event of `source` with id suffix `n`; `overrides` replace fields (None values stay)."""
    event_id = f"{source}-{n:06d}"
    envelope = {"event_id": event_id, "schema_version": 1, "source_system": "test-1"}
    bodies: dict[str, dict[str, Any]] = {
        "txn": {
            "event_type": "transaction",
            "transaction_id": event_id,
            "account_id": "acct-1",
            "customer_id": "cust-42",
            "merchant_id": "DE-BER-001",
            "channel": "store",
            "txn_type": "sale",
            "amount": 30.45,
            "currency": "EUR",
            "posted_ts": TS,
            "lines": [
                {"product_id": "P00001", "quantity": 2, "unit_price": 10.15},
                {"product_id": "P00002", "quantity": 1, "unit_price": 10.15},
            ],
        },
        "traffic": {
            "event_type": "footfall",
            "store_id": "DE-BER-001",
            "sensor_id": "door-1",
            "period_start": TS,
            "period_seconds": 60,
            "visitors": 7,
        },
        "fulfillment": {
            "event_type": "order_status",
            "order_id": "O-1",
            "store_id": "DE-BER-001",
            "channel": "web",
            "method": "ship",
            "status": "placed",
            "status_ts": TS,
            "order_placed_ts": TS,
            "promised_ts": "2026-11-27T10:00:00Z",
            "items": 2,
        },
        "ingest": {
            "event_type": "raw_event",
            "record_key": "rk-1",
            "source_system_id": "pos-eu-1",
            "payload_hash": "a" * 64,
            "size_bytes": 512,
            "event_ts": TS,
        },
        "ops": {
            "event_type": "log",
            "log_id": "log-1",
            "service_id": "ingest-fn",
            "instance_id": "i-1",
            "log_level": "ERROR",
            "message_ts": TS,
            "error_code": "E42",
            "message": "something failed",
        },
        "gov": {
            "event_type": "dq_check",
            "dq_id": "dq-1",
            "dataset_id": "fact_transactions",
            "check_name": "not_null_amount",
            "check_status": "pass",
            "checked_ts": TS,
            "observed_value": 0.0,
            "threshold": 0.01,
        },
        "cost": {
            "event_type": "cost_usage",
            "usage_id": "u-1",
            "resource_id": "/subscriptions/x/cosmos",
            "resource_type": "cosmosdb",
            "cost_center_id": "cc-retail",
            "cost_amount": 12.34,
            "currency": "USD",
            "start_ts": "2026-11-26T09:00:00Z",
            "end_ts": "2026-11-26T10:00:00Z",
        },
    }
    return {**envelope, **bodies[source], **overrides}


def body(source: Source, n: int = 1, **overrides: Any) -> bytes:
    """`sample` serialised as a compact JSON body."""
    return orjson.dumps(sample(source, n, **overrides))
