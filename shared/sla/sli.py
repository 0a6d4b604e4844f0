"""Good and total events of an SLO per period, counted from the documents the pipeline already writes.

- freshness and completeness read the flow documents (`shared.engine.flow`) of the
  SLO's source, per UTC hour of the *enqueued* minute;
- on-time reads the rollups' local-day documents of the SLO's scope, per member and day.

Nothing here writes: compliance is a view of the pipeline's own records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from shared.engine.flow import LAG_BOUNDS_MS, flow_key
from shared.engine.views import NO_SEGMENT
from shared.engine.windows import minute_of
from shared.rollups.keys import ROLLUPS_CONTAINER
from shared.rollups.segments import total as segments_total
from shared.sla.slos import SloSpec
from shared.stores.port import Document, DocumentStore

__all__ = ["SliCount", "count_flow", "count_sli", "flow_documents", "good_total_of_flow"]

_VIEWS: Final = "views"
_ALL_LAG: Final = (*(f"lag_le_{b}" for b in LAG_BOUNDS_MS), f"lag_gt_{LAG_BOUNDS_MS[-1]}")


@dataclass(frozen=True, slots=True)
class SliCount:
    """Good and total events of one scope key in one period."""

    key: str
    """The source, or the scope member (region, store...)."""
    period: str
    """UTC hour ``2026-11-26T10`` (flow SLOs) or local date ``2026-11-26`` (on-time)."""
    good: int
    total: int


def flow_documents(store: DocumentStore, source: str, start: datetime, end: datetime) -> list[Document]:
    """Flow documents of `source` whose enqueued minute is in [start, end)."""
    lo, hi = minute_of(start), minute_of(end)
    docs: list[Document] = []
    day = start.date()
    while day <= end.date():
        pk = flow_key(source, "0", f"{day.isoformat()}T00:00:00Z").pk
        docs += store.query(_VIEWS, pk=pk, where={"view": "flow"}, where_range={"window": (lo, hi)})
        day += timedelta(days=1)
    return docs


def good_total_of_flow(slo: SloSpec, doc: Document) -> tuple[int, int]:
    """(good, total) that one flow document adds to a freshness or completeness SLO."""
    counters: dict[str, Any] = doc.get("segments", {}).get(NO_SEGMENT, {})
    if slo.kind == "completeness":
        received = int(counters.get("received", 0))
        return received - int(counters.get("dead_lettered", 0)), received
    good_names = [f"lag_le_{b}" for b in LAG_BOUNDS_MS if slo.threshold_ms is not None and b <= slo.threshold_ms]
    return sum(int(counters.get(n, 0)) for n in good_names), sum(int(counters.get(n, 0)) for n in _ALL_LAG)


def count_flow(slo: SloSpec, docs: list[Document]) -> tuple[int, int]:
    """(good, total) of `docs` together."""
    good = total = 0
    for doc in docs:
        g, t = good_total_of_flow(slo, doc)
        good, total = good + g, total + t
    return good, total


def count_sli(store: DocumentStore, slo: SloSpec, start: datetime, end: datetime) -> list[SliCount]:
    """Per key and period, the SLO's good and total events in [start, end), ordered by key then period."""
    return sorted(_counts(store, slo, start, end), key=lambda c: (c.key, c.period))


def _counts(store: DocumentStore, slo: SloSpec, start: datetime, end: datetime) -> Iterator[SliCount]:
    if slo.kind == "on_time":
        yield from _on_time(store, slo, start.date(), (end - timedelta(microseconds=1)).date() + timedelta(days=1))
        return
    if slo.kind == "outputs":
        yield from _outputs(store, slo, start, end)
        return
    assert slo.source is not None  # the model requires it for flow SLOs
    hours: dict[str, tuple[int, int]] = {}
    for doc in flow_documents(store, slo.source, start, end):
        g, t = good_total_of_flow(slo, doc)
        hour = str(doc["window"])[:13]
        good, total = hours.get(hour, (0, 0))
        hours[hour] = (good + g, total + t)
    for hour, (good, total) in hours.items():
        if total:
            yield SliCount(slo.source, hour, good, total)


def _on_time(store: DocumentStore, slo: SloSpec, first: date, last: date) -> Iterator[SliCount]:
    """Local days first <= day < last (a day is the member's store-local business date; a report
    window covers the local days its UTC dates name)."""
    docs = store.query(
        ROLLUPS_CONTAINER,
        where={"scope": slo.scope, "grain": "day"},
        where_range={"window": (first.isoformat(), last.isoformat())},
    )
    for doc in docs:
        counters = segments_total(doc["segments"])
        completed = int(counters.get("completed", 0))
        if completed:
            yield SliCount(str(doc["key"]), str(doc["window"]), int(counters.get("on_time", 0)), completed)


def _outputs(store: DocumentStore, slo: SloSpec, start: datetime, end: datetime) -> Iterator[SliCount]:
    """Probed minutes per UTC hour: good when the page's data and the push were within the threshold."""
    hours: dict[str, tuple[int, int]] = {}
    probes = store.query("alerts", where={"type": "probe"}, where_range={"minute": (minute_of(start), minute_of(end))})
    for probe in probes:
        age, lag = probe.get("data_age_s"), probe.get("push_lag_s")
        ok = age is not None and age <= slo.threshold_s and (lag is None or lag <= slo.threshold_s)
        hour = str(probe["minute"])[:13]
        good, total = hours.get(hour, (0, 0))
        hours[hour] = (good + int(ok), total + 1)
    for hour, (good, total) in hours.items():
        yield SliCount("outputs", hour, good, total)
