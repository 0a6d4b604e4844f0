"""The partition key a producer would use for a body: the store id, or the platform source's natural key."""

from __future__ import annotations

from typing import Final

import orjson

from shared.topology import Source

__all__ = ["KEY_FIELDS", "partition_key"]

KEY_FIELDS: Final[dict[Source, str]] = {
    "txn": "merchant_id",
    "traffic": "store_id",
    "fulfillment": "store_id",
    "ingest": "source_system_id",
    "ops": "service_id",
    "gov": "dataset_id",
    "cost": "cost_center_id",
}


def partition_key(source: Source, body: bytes) -> str:
    """The key field of a body, or "" when the body is not a JSON object with it (it still gets delivered)."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    key = value.get(KEY_FIELDS[source]) if isinstance(value, dict) else None
    return key if isinstance(key, str) else ""
