"""Read KPI rows out of the rollups: the one query behind `pulse kpis`, the API and the page."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from shared.engine.windows import epoch_ms
from shared.kpis.formulas import kpi_row
from shared.kpis.state import Grain, Scope
from shared.rollups.backlog import Backlog, count_backlog_of
from shared.rollups.keys import ROLLUPS_CONTAINER
from shared.rollups.minutes import query_minutes
from shared.rollups.segments import total
from shared.stores.port import DocumentStore

__all__ = ["backlog_by_scope", "kpi_rows"]


def kpi_rows(
    store: DocumentStore,
    scope: Scope,
    grain: Grain,
    now: datetime,
    *,
    key: str | None = None,
    window_from: str | None = None,
    window_to: str | None = None,
) -> list[dict[str, Any]]:
    """KPI rows of `scope` at `grain`, ordered by key then window; `window_from <= window < window_to`.

    Backlog (open / overdue as of `now`) is attached to every row of a member.
    """
    if grain == "minute":
        docs = list(query_minutes(store, scope, window_from, window_to, key))
    else:
        where: dict[str, Any] = {"scope": scope, "grain": grain}
        if key is not None:
            where["key"] = key
        window_range = None
        if window_from is not None or window_to is not None:
            window_range = {"window": (window_from, window_to)}
        docs = store.query(ROLLUPS_CONTAINER, where=where, where_range=window_range)
    backlog = backlog_by_scope(store, scope, now)
    rows = []
    for doc in sorted(docs, key=lambda d: (d["key"], d["window"])):
        as_of = datetime.fromisoformat(doc["as_of"].replace("Z", "+00:00")) if doc.get("as_of") else None
        rows.append(
            kpi_row(
                scope, doc["key"], grain, doc["window"], total(doc["segments"]), as_of, backlog.get(doc["key"], (0, 0))
            )
        )
    return rows


def backlog_by_scope(store: DocumentStore, scope: Scope, now: datetime, *, cut_at: Collection[str] = ()) -> Backlog:
    """(open, overdue) per member of `scope`, as of `now`, from every store's open-order documents.

    `cut_at`: store ids to read the backlog in parts at (`count_backlog_of`, a group of them
    at a time); none: in one read.
    """
    return count_backlog_of(store, cut_at, [scope], epoch_ms(now), every_store=True)[scope]
