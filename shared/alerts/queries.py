"""Reading alerts back: what is open now, and the history — for the CLI, the API and the live page."""

from __future__ import annotations

from datetime import datetime

from shared.alerts.documents import ALERTS_CONTAINER
from shared.engine.documents import stamp
from shared.stores.port import Document, DocumentStore

__all__ = ["alert_history", "current_alerts"]

_OPEN = ("pending", "firing", "recovering", "no_data", "error")


def current_alerts(store: DocumentStore, *, include_normal: bool = False) -> list[Document]:
    """State documents, hottest first (firing, recovering, pending, no data, error), then by rule and scope."""
    order = {"firing": 0, "recovering": 1, "pending": 2, "error": 3, "no_data": 4, "resolved": 5, "normal": 6}
    docs = store.query(ALERTS_CONTAINER, where={"type": "state"})
    if not include_normal:
        docs = [d for d in docs if d["state"] in _OPEN]
    return sorted(docs, key=lambda d: (order.get(d["state"], 9), d["rule"], d["scope"]))


def alert_history(
    store: DocumentStore,
    *,
    since: datetime | None = None,
    rule: str | None = None,
    scope: str | None = None,
    limit: int | None = None,
) -> list[Document]:
    """Transitions, newest first."""
    where: dict[str, str] = {"type": "history"}
    if rule is not None:
        where["rule"] = rule
    if scope is not None:
        where["scope"] = scope
    where_range = None if since is None else {"at": (stamp(since), None)}
    docs = store.query(ALERTS_CONTAINER, where=where, where_range=where_range)
    docs.sort(key=lambda d: (d["at"], d["seq"]), reverse=True)
    return docs[:limit] if limit is not None else docs
