"""Issue 14: the alert signals read a long window a few minutes at a time, and sum exactly what one read sums.

Rollup windows (retail metrics) and flow documents (platform metrics, flow SLOs) alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson
import pytest

from shared.alerts.signals import Signals, _platform_value
from shared.engine.flow import LAG_BOUNDS_MS
from shared.engine.views import NO_SEGMENT
from shared.kpis.state import CHAIN_KEY, Grain
from shared.rollups.keys import ROLLUPS_CONTAINER, RollupKey
from shared.rollups.segments import merge_segments, total
from shared.rollups.store_hours import MINUTE_VERSIONS
from shared.sla.sli import count_flow, flow_documents
from shared.sla.slos import SloSpec
from shared.stores.embedded import SqliteDocumentStore
from shared.stores.port import WriteOp
from shared.topology import SOURCES

NOW = datetime(2026, 11, 26, 12, 7, 30, tzinfo=UTC)
STORES = ("S1", "S2", "S3")


def _rollup(store_id: str, grain: Grain, at: datetime, sales: int) -> dict[str, Any]:
    key = RollupKey("store", store_id, grain, at.strftime("%Y-%m-%dT%H:%M:00Z"))
    counters = {"gross_cents": sales * 250 + 1, "sales": sales, "units": 2 * sales}
    segments = {"R1|store|2026-11-26": counters, "R2|online|2026-11-26": {"sales": 1, "refunds": sales % 3}}
    fields = {"scope": key.scope, "key": key.key, "grain": key.grain, "window": key.window}
    return {"id": key.id, "pk": key.pk, **fields, "segments": segments, "v": 1}


class _Recording:
    """A real store that records each rollup query's window range."""

    def __init__(self, store: SqliteDocumentStore) -> None:
        self._store = store
        self.windows: list[tuple[str, str]] = []

    def query(self, container: str, **kwargs: Any) -> list[dict[str, Any]]:
        if container == ROLLUPS_CONTAINER:
            self.windows.append(kwargs["where_range"]["window"])
        return self._store.query(container, **kwargs)


@pytest.fixture
def minutes() -> list[dict[str, Any]]:
    """Every store minute of the fixture, as a minute document was: what the signals must sum."""
    at = [NOW.replace(second=0) - timedelta(minutes=m) for m in range(0, 200)]
    return [_rollup(s, "minute", t, (i * 7 + n) % 11) for n, s in enumerate(STORES) for i, t in enumerate(at)]


@pytest.fixture
def store(tmp_path: Path, minutes: list[dict[str, Any]]) -> SqliteDocumentStore:
    """Store hours with their minutes inside (sales parts, ``minute_v``), as the cascade writes them."""
    store = SqliteDocumentStore(tmp_path / "pulse.db")
    docs = []
    for s in STORES:
        for hour in sorted({d["window"][:13] for d in minutes}):
            inside = [d for d in minutes if d["key"] == s and d["window"][:13] == hour]
            at = datetime.fromisoformat(f"{hour}:00:00+00:00")
            children = {f"{d['window']}|sales": orjson.dumps([1, None, d["segments"]]).decode() for d in inside}
            hour_doc = _rollup(s, "hour", at, 0) | {
                "segments": merge_segments(d["segments"] for d in inside),
                "children": children,
                MINUTE_VERSIONS: {d["window"][14:16]: 1 for d in inside},
            }
            docs.append(hour_doc)
    store.write_many(ROLLUPS_CONTAINER, [WriteOp.upsert(d) for d in docs])
    return store


def _by_minutes(minutes: list[dict[str, Any]], start: datetime, end: datetime) -> dict[str, dict[str, int]]:
    """The window's minutes summed per store, at once: what the signals must equal."""
    lo, hi = (t.strftime("%Y-%m-%dT%H:%M:00Z") for t in (start, end))
    out: dict[str, dict[str, int]] = {}
    for doc in minutes:
        if lo <= doc["window"] < hi:
            into = out.setdefault(doc["key"], {})
            for name, value in total(doc["segments"]).items():
                into[name] = into.get(name, 0) + value
    return out


@pytest.mark.parametrize(
    ("back", "length"),
    [(75, 60), (190, 150), (20, 20), (3, 3), (130, 7), (61, 61)],  # a ragged hour, whole hours, recent, one step
)
def test_a_window_read_in_steps_sums_what_one_read_sums(
    store: SqliteDocumentStore, minutes: list[dict[str, Any]], back: int, length: int
) -> None:
    now = NOW.replace(second=0)
    start, end = now - timedelta(minutes=back), now - timedelta(minutes=back - length)
    recording = _Recording(store)
    signals = Signals(recording, [], NOW)  # type: ignore[arg-type]
    assert signals.counters("store", start, end) == _by_minutes(minutes, start, end)
    assert recording.windows, "the window was read"
    for lo, hi in recording.windows:
        span = datetime.fromisoformat(hi.replace("Z", "+00:00")) - datetime.fromisoformat(lo.replace("Z", "+00:00"))
        assert timedelta(0) < span <= timedelta(hours=6)
        if hi[14:16] != "00":  # minutes, read from their hours: under two hours (else whole hours are read)
            assert lo[14:16] == "00" and span <= timedelta(hours=2, minutes=1), (lo, hi)


def test_recent_minutes_are_read_once_per_evaluation_whatever_the_windows_that_end_now(
    store: SqliteDocumentStore, minutes: list[dict[str, Any]]
) -> None:
    now = NOW.replace(second=0)
    recording = _Recording(store)
    signals = Signals(recording, [], NOW)  # type: ignore[arg-type]
    reads = []
    for back in (5, 25, 15, 25, 40):
        start = now - timedelta(minutes=back)
        assert signals.counters("store", start, now) == _by_minutes(minutes, start, now)
        reads.append(len(recording.windows))
    added = [b - a for a, b in pairwise([0, *reads])]
    assert added[0] > 0 and added[1] > 0 and added[4] > 0  # 5, 25 and 40 minutes back each reach further
    assert added[2] == added[3] == 0  # 15 and 25 again: in the table already
    for lo, hi in recording.windows:  # a store's minutes come from its hours, one hour a query
        assert lo.endswith(":00:00Z") and lo[:13] == (parse(hi) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H"), (
            lo,
            hi,
        )
    assert min(lo for lo, _ in recording.windows) == (now - timedelta(minutes=40)).strftime("%Y-%m-%dT%H:00:00Z")


def parse(window: str) -> datetime:
    return datetime.fromisoformat(window.replace("Z", "+00:00"))


def _flow(source: str, partition: int, at: datetime, n: int) -> dict[str, Any]:
    window = at.strftime("%Y-%m-%dT%H:%M:00Z")
    received = 40 + (n * 13) % 29
    lags = {f"lag_le_{b}": (n * b // 1000 + partition) % 7 for b in LAG_BOUNDS_MS[:4]}
    counters = {"received": received, "dead_lettered": n % 3, "accepted": received - n % 3, **lags}
    counters[f"lag_gt_{LAG_BOUNDS_MS[-1]}"] = n % 2
    return {
        "id": f"flow|{source}|{partition}|{window}",
        "pk": f"flow|{source}|{window[:10]}",
        "view": "flow",
        "source": source,
        "key": f"{source}|{partition}",
        "window": window,
        "segments": {NO_SEGMENT: counters},
    }


def test_platform_metrics_and_flow_slos_from_summed_flows_equal_them_from_every_document(
    store: SqliteDocumentStore,
) -> None:
    now = NOW.replace(second=0)
    minutes = [now - timedelta(minutes=m) for m in range(0, 400)]  # across hours and 30-minute steps
    docs = [_flow(s, p, at, i + p) for s in ("txn", "traffic") for p in range(3) for i, at in enumerate(minutes)]
    store.write_many("views", [WriteOp.upsert(d) for d in docs])
    signals = Signals(store, [], NOW)
    for over in (timedelta(minutes=5), timedelta(hours=1), timedelta(hours=6)):
        by_source = {s: flow_documents(store, s, now - over, now) for s in SOURCES}
        assert sum(map(len, by_source.values())) == 6 * over // timedelta(minutes=1)
        for metric in ("received", "dead_letter_rate", "lag_p95"):
            expected = {s: _platform_value(metric, d) for s, d in by_source.items()}
            assert signals.platform(metric, "source", over) == expected
            everything = [d for docs_of in by_source.values() for d in docs_of]
            assert signals.platform(metric, "chain", over) == {CHAIN_KEY: _platform_value(metric, everything)}
        for kind, threshold in (("freshness", LAG_BOUNDS_MS[2]), ("completeness", None)):
            slo = SloSpec(name="s", kind=kind, target=0.99, source="txn", threshold_ms=threshold)
            assert signals.slo_counts(slo, over) == count_flow(slo, by_source["txn"])
