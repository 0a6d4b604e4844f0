"""The shipped JSON Schemas are current, and say what the validators enforce."""

from __future__ import annotations

import orjson

from shared.contracts.schemas import SCHEMA_DIR, render_schema, schema_file_name
from shared.topology import SOURCES


def test_shipped_schemas_are_current() -> None:
    for source in SOURCES:
        path = SCHEMA_DIR / schema_file_name(source)
        assert path.is_file(), f"missing {path}: run `pulse schemas`"
        assert path.read_bytes() == render_schema(source), f"{path} is stale: run `pulse schemas`"


def test_txn_schema_states_the_rules_producers_need() -> None:
    schema = orjson.loads(render_schema("txn"))
    transaction = schema["$defs"]["Transaction"]
    props = transaction["properties"]
    assert transaction["additionalProperties"] is False
    assert props["amount"]["multipleOf"] == 0.01
    assert props["amount"]["exclusiveMinimum"] == 0
    assert props["posted_ts"]["format"] == "date-time"
    assert props["schema_version"]["const"] == 1
    assert props["lines"]["maxItems"] == 500
    assert "pseudonymised" in props["customer_id"]["description"]
    assert set(transaction["required"]) >= {"event_id", "amount", "currency", "posted_ts", "lines"}
