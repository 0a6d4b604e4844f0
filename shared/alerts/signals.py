"""The numbers rules are evaluated on, read once per evaluation from the pipeline's own documents.

Retail metrics come from the rollups (hour documents for the whole UTC hours of a
window, minute documents for its ends); platform metrics
from the flow documents; backlog from the open-order documents. Windows end at the
start of the current minute, whose events may still be in flight. Every query is
memoised for the evaluation, so 500 rules over the same metric read it once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from shared.engine.views import NO_SEGMENT
from shared.engine.windows import minute_of
from shared.kpis.state import CHAIN_KEY
from shared.reference.models import Store
from shared.rollups.keys import ROLLUPS_CONTAINER
from shared.rollups.minutes import query_minutes
from shared.rollups.query import backlog_by_scope
from shared.rollups.segments import total as segments_total
from shared.sla.sli import flow_documents, good_total_of_flow
from shared.sla.slos import SloSpec
from shared.stores.port import Document, DocumentStore
from shared.topology import SOURCES
from shared.web.platform_health import lag_percentile_ms

__all__ = ["HEARTBEAT_COUNTERS", "Signals", "Value"]

Value = tuple[float | None, float]
"""(metric value or None when undefined, volume behind it)."""

HEARTBEAT_COUNTERS: Final[dict[str, tuple[str, ...]]] = {
    "txn": ("sales", "refunds", "voids"),
    "traffic": ("traffic_reports",),
    "fulfillment": ("placed", "completed", "cancelled"),
}
"""Rollup counters that show a store sent something of a source."""
_HOUR: Final = timedelta(hours=1)
_STEP: Final = {"minute": timedelta(minutes=10), "hour": timedelta(hours=6), "day": timedelta(days=7)}
"""Windows read per query: a chain's ten store minutes at a time, not the whole window's."""
_FLOW_STEP: Final = timedelta(minutes=30)
"""Flow documents read per query: 30 minutes of every partition of a source."""
_VIEWS: Final = "views"


def _floor_minute(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


def _parse_window(window: str) -> datetime:
    return datetime.fromisoformat(window.replace("Z", "+00:00"))


class Signals:
    """Metric values per scope key at one evaluation time; reads are memoised."""

    def __init__(
        self,
        store: DocumentStore,
        stores: Iterable[Store],
        now: datetime,
        first_seen: dict[str, str] | None = None,
        live_from: datetime | None = None,
    ) -> None:
        """`first_seen` is a cache the caller keeps across evaluations (the first minute never changes).

        `live_from`: platform metrics count messages enqueued from that minute on (`pulse demo`'s
        fast-forward of the day so far is history, not the pipeline's live lag or loss).
        """
        self._store, self.now = store, now
        self._live_from = None if live_from is None else _floor_minute(live_from)
        self._first_seen = {} if first_seen is None else first_seen
        self.stores = {
            s.store_id: s for s in stores if s.valid_from <= now and (s.valid_to is None or now < s.valid_to)
        }
        self._memo: dict[tuple[Any, ...], Any] = {}
        self._recent: dict[str, tuple[str, dict[str, dict[str, dict[str, int]]]]] = {}
        self.reads = 0

    def _cached(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    # -- scope members ---------------------------------------------------------------

    def members(self, scope: str) -> list[str]:
        """Every key of `scope` that rules evaluate (current reference data)."""
        if scope == "store":
            return sorted(self.stores)
        if scope == "region":
            return sorted({s.region for s in self.stores.values()})
        if scope == "channel":
            return sorted({s.channel for s in self.stores.values()})
        if scope == "source":
            return list(SOURCES)
        return [CHAIN_KEY]

    # -- retail metrics ----------------------------------------------------------------

    def counters(self, scope: str, start: datetime, end: datetime) -> dict[str, dict[str, int]]:
        """Summed rollup counters per member of `scope` over [start, end) (whole minutes).

        Whole UTC hours inside the window come from hour documents, the ragged ends from
        minute documents, so a window costs at most three queries however long it is.
        """
        first_hour = (start + _HOUR - timedelta(microseconds=1)).replace(minute=0, second=0, microsecond=0)
        last_hour = end.replace(minute=0, second=0, microsecond=0)
        if last_hour - first_hour < _HOUR:
            return self._range(scope, "minute", minute_of(start), minute_of(end))
        parts = [
            self._range(scope, "minute", minute_of(start), minute_of(first_hour)),
            self._range(scope, "hour", minute_of(first_hour), minute_of(last_hour)),
            self._range(scope, "minute", minute_of(last_hour), minute_of(end)),
        ]
        out: dict[str, dict[str, int]] = {}
        for part in parts:
            for key, counters in part.items():
                into = out.setdefault(key, {})
                for name, count in counters.items():
                    into[name] = into.get(name, 0) + count
        return out

    def _range(self, scope: str, grain: str, lo: str, hi: str) -> dict[str, dict[str, int]]:
        if lo >= hi:
            return {}
        counters: dict[str, dict[str, int]] = self._cached(
            ("counters", scope, grain, lo, hi), lambda: self._sum_range(scope, grain, lo, hi)
        )
        return counters

    def _sum_range(self, scope: str, grain: str, lo: str, hi: str) -> dict[str, dict[str, int]]:
        """Sum per key of the windows in [lo, hi); recent minutes come from one table read once per evaluation.

        Older windows are summed as they are read, `_STEP` windows per query, so an hour of a
        chain's store minutes is never held whole (3,600 documents for 60 stores).
        """
        out: dict[str, dict[str, int]] = {}
        if grain == "minute" and hi >= minute_of(self.now):
            recent = self._recent.get(scope)
            if recent is None or lo < recent[0]:
                top = minute_of(self.now + timedelta(minutes=1))
                tables = recent[1] if recent else {}
                for window, key, counters in self._read_windows(scope, grain, lo, recent[0] if recent else top):
                    tables.setdefault(window, {})[key] = counters
                recent = (lo, tables)
                self._recent[scope] = recent
            rows = ((key, c) for window, table in recent[1].items() if lo <= window < hi for key, c in table.items())
        else:
            rows = ((key, c) for _window, key, c in self._read_windows(scope, grain, lo, hi))
        for key, counters in rows:
            into = out.get(key)
            if into is None:
                out[key] = dict(counters)
                continue
            for name, count in counters.items():
                into[name] = into.get(name, 0) + count
        return out

    def _read_windows(self, scope: str, grain: str, lo: str, hi: str) -> Iterator[tuple[str, str, dict[str, int]]]:
        """(window, key, summed counters) of every rollup of [lo, hi), read `_STEP` windows per query."""
        if grain == "minute":
            self.reads += 1  # a member's minutes live in its hours: a few documents however long
            for doc in query_minutes(self._store, scope, lo, hi):
                yield str(doc["window"]), str(doc["key"]), segments_total(doc["segments"])
            return
        step = _STEP[grain]
        start = _parse_window(lo)
        while (low := minute_of(start)) < hi:
            start += step
            high = min(minute_of(start), hi)
            self.reads += 1
            docs = self._store.query(
                ROLLUPS_CONTAINER,
                where={"scope": scope, "grain": grain},
                where_range={"window": (low, high)},
                fields=("window", "key", "segments"),  # not the children: a region's are every store's segments
            )
            for doc in docs:
                yield str(doc["window"]), str(doc["key"]), segments_total(doc["segments"])
            del docs

    def retail(self, metric: str, scope: str, over: timedelta, *, shift: timedelta = timedelta(0)) -> dict[str, Value]:
        """`metric` per member over the `over` before this minute, `shift` earlier (anomalies look a week back)."""
        values: dict[str, Value] = self._cached(
            ("retail", metric, scope, over, shift), lambda: self._retail(metric, scope, over, shift)
        )
        return values

    def _retail(self, metric: str, scope: str, over: timedelta, shift: timedelta) -> dict[str, Value]:
        end = _floor_minute(self.now) - shift
        counters = self.counters(scope, end - over, end)
        return {key: _retail_value(metric, c) for key, c in counters.items()}

    def open_throughout(self, store: Store, start: datetime) -> bool:
        """The store is open from `start` to now, on one local day (memoised per store and start)."""
        key = ("open", store.store_id, start)
        if key not in self._memo:
            self._memo[key] = _open_throughout(store, start, self.now)
        return bool(self._memo[key])

    def backlog(self, scope: str) -> dict[str, Value]:
        """Overdue orders per member as of now (every store's backlog, read a group of current stores at a time)."""
        rows = self._cached(
            ("backlog", scope),
            lambda: backlog_by_scope(self._store, scope, self.now, cut_at=self.stores),  # type: ignore[arg-type]
        )
        return {key: (float(overdue), float(opened)) for key, (opened, overdue) in rows.items()}

    def active_stores(self, source: str, since: datetime) -> set[str]:
        """Stores with at least one event of `source` in a minute since `since`."""
        names = HEARTBEAT_COUNTERS.get(source, ())
        counters = self.counters("store", since, _floor_minute(self.now) + timedelta(minutes=1))
        return {key for key, c in counters.items() if any(c.get(name, 0) for name in names)}

    def busy_stores(self, source: str, since: datetime, min_events: float) -> set[str]:
        """Stores with at least `min_events` events of `source` in the hour before `since`."""
        names = HEARTBEAT_COUNTERS.get(source, ())
        counters = self.counters("store", since - timedelta(hours=1), since)
        return {key for key, c in counters.items() if sum(c.get(name, 0) for name in names) >= min_events}

    # -- platform metrics ----------------------------------------------------------------

    def first_seen(self, source: str | None) -> str | None:
        """The first enqueued minute the pipeline counted for `source` (None: any source); None: never yet."""
        name = source or "*"
        if name not in self._first_seen:
            self.reads += 1
            where = {"view": "flow", "source": source} if source else {"view": "flow"}
            first = self._store.query(_VIEWS, where=where, order_by="window", limit=1)
            if not first:
                return None
            self._first_seen[name] = str(first[0]["window"])
        return self._first_seen[name]

    def flow_total(self, source: str, start: datetime, end: datetime) -> Document:
        """The flow counters of `source` summed over the enqueued minutes in [start, end) (and from `live_from`).

        As one flow document: every platform metric and flow SLO is a sum over documents
        (`_platform_value`, `good_total_of_flow`), so the sum of their counters gives the same
        value. Read `_FLOW_STEP` at a time and summed as read: a 6-hour burn-rate window is
        ~2,900 flow documents a source, never held at once, and an evaluation keeps one map
        per window instead of every window's documents.
        """
        if self._live_from is not None and start < self._live_from:
            start = min(self._live_from, end)
        summed: Document = self._cached(("flow", source, start, end), lambda: self._sum_flows(source, start, end))
        return summed

    def _sum_flows(self, source: str, start: datetime, end: datetime) -> Document:
        counters: dict[str, int] = {}
        while start < end:
            part_end = min(start + _FLOW_STEP, end)
            self.reads += 1
            for doc in flow_documents(self._store, source, start, part_end):
                for name, count in doc.get("segments", {}).get(NO_SEGMENT, {}).items():
                    counters[name] = counters.get(name, 0) + int(count)
            start = part_end
        return {"segments": {NO_SEGMENT: counters}}

    def platform(
        self, metric: str, scope: str, over: timedelta, *, shift: timedelta = timedelta(0), through_now: bool = False
    ) -> dict[str, Value]:
        """A flow metric per source (scope ``source``) or for the whole pipeline (``chain``).

        `through_now` counts the current minute too (a heartbeat: any message is a sign of life).
        """
        end = _floor_minute(self.now) - shift + (timedelta(minutes=1) if through_now else timedelta(0))
        per_source = {source: self.flow_total(source, end - over, end) for source in SOURCES}
        if scope == "chain":
            return {CHAIN_KEY: _platform_value(metric, list(per_source.values()))}
        return {source: _platform_value(metric, [summed]) for source, summed in per_source.items()}

    def slo_counts(self, slo: SloSpec, over: timedelta) -> tuple[int, int]:
        """(good, total) of a flow SLO over the `over` before this minute (keyed by its source)."""
        assert slo.source is not None
        end = _floor_minute(self.now)
        return good_total_of_flow(slo, self.flow_total(slo.source, end - over, end))


def _open_throughout(store: Store, start: datetime, end: datetime) -> bool:
    """Open at both ends of the window on the same local day (hours are one interval a day)."""
    if store.is_24h:
        return True
    if not (store.is_open_at(start) and store.is_open_at(end)):
        return False
    zone = store.zone
    return start.astimezone(zone).date() == end.astimezone(zone).date()


def _retail_value(metric: str, c: Mapping[str, int]) -> Value:
    if metric == "net_sales":
        net = (c.get("gross_cents", 0) - c.get("refund_cents", 0)) / 100
        return net, abs(net)
    if metric == "transactions":
        return float(c.get("sales", 0)), float(c.get("sales", 0))
    completed = c.get("completed", 0)  # on_time_rate
    return (c.get("on_time", 0) / completed if completed else None), float(completed)


def _counter(doc: Document, name: str) -> int:
    return int(doc.get("segments", {}).get(NO_SEGMENT, {}).get(name, 0))


def _platform_value(metric: str, docs: list[Document]) -> Value:
    received = sum(_counter(d, "received") for d in docs)
    if metric == "received":
        return float(received), float(received)
    if metric == "dead_letter_rate":
        return (sum(_counter(d, "dead_lettered") for d in docs) / received if received else None), float(received)
    histogram: dict[str, int] = {}
    for doc in docs:
        for name, count in doc.get("segments", {}).get(NO_SEGMENT, {}).items():
            if name.startswith(("lag_le_", "lag_gt_")):
                histogram[name] = histogram.get(name, 0) + int(count)
    p95 = lag_percentile_ms(histogram, 95)
    return (None if p95 is None and not histogram else float(p95 if p95 is not None else 86_400_001)), float(
        sum(histogram.values())
    )
