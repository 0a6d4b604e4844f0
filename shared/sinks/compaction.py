"""Keep the history table under its 5,000,000-row cap: clear it and reseed it with fewer, coarser rows.

Policy (`CompactionPolicy`): minute rows for the last `minute_days` days, hour rows
before; a compaction is due when the table holds `trigger_fraction` (70 %) of its cap,
below the 80 % alert of `history_budget`. The reseed must fit `reseed_fraction` (35 %)
of the cap: if two days of minute rows do not (a large chain), the minute window
shrinks (24, 12, 6, 3, 1 hours, then none) until it does.

The reseed is exact by construction: for every minute it carries what was *enqueued*
for it so far — the outbox's delta state of the minute (the counters already turned
into rows), or, for a minute whose state expired (no change for 8 days, beyond the
7 days of accepted lateness), its final rollup — summed into hours for old minutes.
So SUM over the reseeded table equals SUM over every row enqueued before, and
delta rows enqueued later keep adding on top of it. `Outbox.enqueue_reseed` commits
the reseed behind a barrier: the pusher sends the rows enqueued before, clears the
table with Power BI's documented delete-rows call ("Push Datasets - Datasets
DeleteRowsInGroup"), then sends the reseed.

While the reseed is being pushed (one request of 10,000 rows every 30 s), reports
on the history table show partial totals; the tiles and live datasets, and the live
page, are not affected. `PublisherStatus.history` says how far it is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain
from typing import Any, Final

from shared.kpis.formulas import format_utc
from shared.kpis.state import SCOPES
from shared.rollups.minutes import query_minutes
from shared.sinks._outbox_docs import OUTBOX_CONTAINER
from shared.sinks.rows import DELTA_MEASURES, delta_parts, delta_row, is_minute_rollup
from shared.stores.port import DocumentStore

__all__ = ["STATE_HORIZON", "CompactionPolicy", "enqueued_minutes", "reseed_rows"]

STATE_HORIZON: Final = timedelta(days=8)
"""A minute older than this may have lost its delta state (`OutboxConfig.state_ttl_s`): its rollup is final."""

Counters = dict[str, int]
Minute = tuple[str, str, str]
"""(scope, key, window)."""


@dataclass(frozen=True, slots=True)
class CompactionPolicy:
    """When to compact and how coarse the reseed is."""

    minute_days: int = 2
    """Keep minute rows for this many days back from now; older minutes become hour rows."""
    trigger_fraction: float = 0.7
    """Compact when the table holds this fraction of its cap (below the 80 % alert)."""
    reseed_fraction: float = 0.35
    """The reseed may fill at most this fraction of the cap (room for the rows that follow)."""

    def __post_init__(self) -> None:
        if self.minute_days < 0 or not 0 < self.reseed_fraction < self.trigger_fraction < 1:
            raise ValueError("minute_days must be >= 0 and 0 < reseed_fraction < trigger_fraction < 1")

    def minute_windows(self) -> tuple[timedelta, ...]:
        """Minute windows to try, longest first, until a reseed fits."""
        longest = timedelta(days=self.minute_days)
        shorter = (timedelta(hours=h) for h in (24, 12, 6, 3, 1, 0))
        return (longest, *(w for w in shorter if w < longest))


def _column_counters(parts: Mapping[str, Mapping[str, int]]) -> dict[str, Counters]:
    # States and rollups keep counters by rollup counter name; rows by delta column.
    return {part: {column: int(c.get(name, 0)) for column, name in DELTA_MEASURES} for part, c in parts.items()}


def enqueued_minutes(store: DocumentStore, now: datetime) -> dict[Minute, tuple[dict[str, Counters], str | None]]:
    """What was enqueued for every minute so far: its parts' counters (by delta column) and its ``as_of``."""
    out: dict[Minute, tuple[dict[str, Counters], str | None]] = {}
    horizon = format_utc(now - STATE_HORIZON)
    final = chain.from_iterable(query_minutes(store, scope, None, horizon) for scope in SCOPES)
    for doc in final:
        if is_minute_rollup(doc) and str(doc["window"]) < horizon:  # final: enqueued long ago
            out[(doc["scope"], doc["key"], doc["window"])] = (_column_counters(delta_parts(doc)), doc.get("as_of"))
    for state in store.query(OUTBOX_CONTAINER, where={"kind": "dstate"}):
        _, scope, key, window = str(state["id"]).split("|", 3)
        staged = state.get("staged_rows") or []
        as_of = staged[-1]["as_of"] if staged else out.get((scope, key, window), ({}, None))[1]
        out[(scope, key, window)] = (_column_counters(state["parts"]), as_of)
    return out


def _hour(window: str) -> str:
    return f"{window[:13]}:00:00Z"


def reseed_rows(
    minutes: Mapping[Minute, tuple[dict[str, Counters], str | None]],
    now: datetime,
    policy: CompactionPolicy,
    generation: str,
    cap: int | None = None,
) -> list[dict[str, Any]]:
    """`kpi_delta` rows that sum to `minutes`: minute rows for recent minutes, hour rows for older ones.

    With `cap`, the minute window shrinks until the reseed fits `policy.reseed_fraction` of it.
    """
    spans = policy.minute_windows()
    span = spans[-1]
    for candidate in spans:
        if cap is None or _size(minutes, format_utc(now - candidate)) <= policy.reseed_fraction * cap:
            span = candidate
            break
    cut = format_utc(now - span)
    totals: dict[tuple[str, str, str, str], Counters] = defaultdict(lambda: defaultdict(int))
    as_of: dict[tuple[str, str, str, str], str | None] = {}
    for (scope, key, window), (parts, stamp) in minutes.items():
        bucket = window if window >= cut else _hour(window)
        for part, counters in parts.items():
            slot = (scope, key, bucket, part)
            for column, value in counters.items():
                totals[slot][column] += value
            as_of[slot] = max(filter(None, (as_of.get(slot), stamp)), default=None)
    return [
        delta_row(scope, key, bucket, part, counters, as_of[(scope, key, bucket, part)], f"reseed@{generation}")
        for (scope, key, bucket, part), counters in sorted(totals.items())
        if any(counters.values())
    ]


def _size(minutes: Mapping[Minute, tuple[dict[str, Counters], str | None]], cut: str) -> int:
    """Rows of a reseed with minute rows from `cut` on (one per part of each minute or hour)."""
    groups = {(s, k, w if w >= cut else _hour(w), p) for (s, k, w), (parts, _) in minutes.items() for p in parts}
    return len(groups)
