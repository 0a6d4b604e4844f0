"""Point reads of KPI rows and backlogs for the live page: by document id, never by scanning.

`shared.rollups.query.kpi_rows` filters a whole container, which is right for
``pulse kpis`` but grows with every day of data; the page knows exactly which
windows it shows, so it reads those documents by (partition key, id) and derives the
rows with the same formula (`kpi_row` over the summed segments), giving the same
numbers. The backlog is read from the open-order documents of the reference stores
and of any store the pipeline attributed to ``UNASSIGNED`` today or yesterday (UTC):
their promise lists only, a group of stores at a time over parts of the backlog's id
range (`shared.rollups.backlog.count_backlog_of`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from shared.engine.windows import epoch_ms
from shared.kpis.formulas import kpi_row
from shared.kpis.state import Grain, Scope
from shared.rollups.backlog import Backlog, count_backlog_of
from shared.rollups.keys import ROLLUPS_CONTAINER, RollupKey
from shared.rollups.minutes import read_rollups
from shared.rollups.segments import total
from shared.stores.port import DocumentStore

__all__ = ["UNASSIGNED", "Backlog", "read_backlog", "read_rows"]

UNASSIGNED: Final = "UNASSIGNED"
"""Region (and time zone UTC) of events from stores missing in the reference data."""


def read_rows(
    store: DocumentStore,
    scope: Scope,
    grain: Grain,
    windows: Sequence[tuple[str, str]],
    now: datetime,
    backlog: Mapping[str, tuple[int, int]] | None = None,
) -> dict[tuple[str, str], dict[str, Any]]:
    """The KPI row of each (key, window); a window without a document is a row of zeros (as_of None).

    With `backlog`, rows carry open / overdue backlog like `kpi_rows` (missing members: 0, 0).
    """
    keys = {RollupKey(scope, key, grain, window): (key, window) for key, window in dict.fromkeys(windows)}
    docs = read_rollups(store, list(keys)) if keys else {}
    rows = {}
    for rollup_key, (key, window) in keys.items():
        doc = docs.get(rollup_key.id)
        member_backlog = None if backlog is None else backlog.get(key, (0, 0))
        if doc is None:
            rows[(key, window)] = kpi_row(scope, key, grain, window, {}, None, member_backlog)
            continue
        as_of = datetime.fromisoformat(doc["as_of"].replace("Z", "+00:00")) if doc.get("as_of") else None
        rows[(key, window)] = kpi_row(scope, key, grain, window, total(doc["segments"]), as_of, member_backlog)
    return rows


def read_backlog(
    store: DocumentStore, store_ids: Iterable[str], now: datetime, scopes: Iterable[Scope]
) -> dict[Scope, Backlog]:
    """(open, overdue) per member of each of `scopes` as of `now` (the rule of `rollups.query.backlog_by_scope`),
    over the reference stores and the stores attributed to UNASSIGNED lately."""
    ids = set(store_ids) | set(_unassigned_stores(store, now))
    return count_backlog_of(store, ids, scopes, epoch_ms(now))


def _unassigned_stores(store: DocumentStore, now: datetime) -> list[str]:
    """Stores that fed the UNASSIGNED region's day (UTC business dates) today or yesterday."""
    days = [(now.astimezone(UTC) - timedelta(days=n)).date().isoformat() for n in (0, 1)]
    keys = [RollupKey("region", UNASSIGNED, "day", day) for day in days]
    docs = store.read_many(ROLLUPS_CONTAINER, [(k.pk, k.id) for k in keys])
    return sorted({child for doc in docs.values() for child in doc.get("children", {})})
