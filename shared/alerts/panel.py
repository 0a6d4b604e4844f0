"""The live page's alert panel: what fires now for the page's focus, what happened lately, which tiles to mark."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from shared.alerts.queries import alert_history, current_alerts
from shared.stores.port import Document, DocumentStore

__all__ = ["RECENT_HOURS", "alert_panel"]

RECENT_HOURS: Final = 24
RECENT_LIMIT: Final = 20
_SHOWN: Final = ("firing", "recovering", "pending", "no_data", "error")


def alert_panel(
    store: DocumentStore, now: datetime, scope: str, key: str, stores_of_focus: set[str] | None = None
) -> dict[str, Any]:
    """Alerts relevant to the focus: the chain sees all; a region its own and its stores'; a store its own.

    Pipeline-wide alerts (sources, the chain) show at every focus, like the health tiles.
    """

    def relevant(doc: Document) -> bool:
        if scope == "chain":
            return True
        labels = doc.get("labels") or {}
        if doc["scope"] in (key,) or labels.get("region") == key:
            return True
        if stores_of_focus is not None and doc["scope"] in stores_of_focus:
            return True
        return not labels.get("region")  # sources and the chain concern everyone

    active = [d for d in current_alerts(store) if d["state"] in _SHOWN and relevant(d)]
    recent = [d for d in alert_history(store, since=now - timedelta(hours=RECENT_HOURS)) if relevant(d)]
    marks: dict[str, list[str]] = {}
    for doc in active:
        if doc["state"] in ("firing", "recovering") and doc.get("tile"):
            marks.setdefault(str(doc["tile"]), []).append(f"{doc['rule']} {doc['scope']}")
    return {
        "firing": [_view(d) for d in active],
        "recent": [_view(d) for d in recent[:RECENT_LIMIT]],
        "tile_marks": marks,
    }


def _view(doc: Document) -> dict[str, Any]:
    return {
        "alert_id": f"{doc['rule']}|{doc['scope']}|{doc['episode']}",
        "rule": doc["rule"],
        "scope": doc["scope"],
        "state": doc["state"],
        "severity": doc.get("severity", ""),
        "since": doc.get("active_since") or doc.get("since") or doc.get("at"),
        "at": doc.get("at") or doc.get("since"),
        "value": doc.get("value"),
        "detail": doc.get("detail", ""),
        "summary": doc.get("summary", ""),
        "region": (doc.get("labels") or {}).get("region", ""),
        "runbook": doc.get("runbook", ""),
    }
