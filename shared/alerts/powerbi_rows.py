"""Rows of the Power BI `alerts` table (`shared.sinks.dataset.ALERTS_TABLE`): one per alert of a delivered message."""

from __future__ import annotations

from typing import Any

__all__ = ["alert_rows"]


def alert_rows(message: dict[str, Any]) -> list[dict[str, Any]]:
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
