"""The Power BI `alerts` table: one row per alert in a delivered message (a transition or a reminder)."""

from __future__ import annotations

from typing import Any, Final

from shared.sinks.port import Row
from shared.sinks.schema import ColumnSpec, TableSpec

__all__ = ["ALERTS_TABLE", "alert_rows"]


def _text(name: str, description: str, max_length: int = 1000) -> ColumnSpec:
    return ColumnSpec(name, "String", max_length=max_length, description=description)


ALERTS_TABLE: Final = TableSpec(
    "alerts",
    (
        _text("row_id", "message id | alert id: unique per row", 200),
        _text("alert_id", "rule|scope|episode: one alert per problem", 200),
        _text("rule", "the rule's name in slas.toml", 64),
        _text("state", "firing, resolved, no_data or error", 16),
        _text("severity", "page, ticket or info", 16),
        _text("scope", "the store, region, source... the alert is about", 128),
        _text("region", "the region of the scope, when it has one", 128),
        ColumnSpec("value", "Double", format_string="#,0.####", description="the value that caused the transition"),
        _text("detail", "the condition in words", 1000),
        ColumnSpec("since", "DateTime", description="when the condition started to hold"),
        ColumnSpec("at", "DateTime", description="when the transition was evaluated"),
        _text("runbook", "where to look first", 1000),
    ),
    "Alert transitions: filter on state = firing and the newest `at` per alert_id for what is open now.",
)


def alert_rows(message: dict[str, Any]) -> list[Row]:
    """The rows of one message."""
    return [
        {
            "row_id": f"{message['message_id']}|{alert['alert_id']}",
            "alert_id": alert["alert_id"],
            "rule": message["rule"],
            "state": message["state"],
            "severity": message["severity"],
            "scope": alert["scope"],
            "region": alert.get("labels", {}).get("region", ""),
            "value": alert.get("value"),
            "detail": str(alert.get("detail", ""))[:1000],
            "since": alert["since"],
            "at": message["at"],
            "runbook": message.get("runbook", ""),
        }
        for alert in message["alerts"]
    ]
