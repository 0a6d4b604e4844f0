"""Minutes above the store as buckets of their hour: exact through replays, crashes, races and old documents.

The oracle sums the latest version of every store minute's children directly, with the
conversion rule applied per region and channel part, as the region, channel and chain
minute documents did before buckets.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings

from shared.engine.windows import hour_of
from shared.rollups.apply import apply_edges
from shared.rollups.buckets import MAX_STEPS, bucket_edges, minute_docs, next_bucket_version, recomputed
from shared.rollups.cascade import Edge
from shared.rollups.keys import ROLLUPS_CONTAINER, RollupKey
from shared.rollups.minutes import query_minutes, read_rollups
from shared.rollups.query import kpi_rows
from shared.rollups.store_hours import minute_of_child
from shared.stores import SqliteDocumentStore
from shared.stores.port import Document, WriteOp

DAY = "2026-11-26"
NOW = datetime(2026, 11, 26, 23, 0, tzinfo=UTC)
STORES = {"S0": ("EAST", "store"), "S1": ("EAST", "online"), "S2": ("WEST", "store"), "S3": ("NORTH", "store")}
MINUTES = [f"{DAY}T10:{m:02d}:00Z" for m in (0, 1, 2, 59)] + [f"{DAY}T11:{m:02d}:00Z" for m in (0, 30)]
KINDS = ("sales", "traffic")

Op = tuple[str, int, str, str, int, int]
"""(store, minute index, kind, region override or "", amount, visitors)."""


def _counters(kind: str, amount: int, visitors: int) -> dict[str, int]:
    if kind == "sales":
        return {"sales": 1 + amount % 3, "gross_cents": amount, "units": amount % 7}
    return {"visitors": visitors, "traffic_reports": 1}


class _Stream:
    """Base edges (a view's to its store hour) with rising child versions, and the oracle of what they sum to."""

    def __init__(self) -> None:
        self.versions: dict[tuple[str, str, str], int] = defaultdict(int)
        self.latest: dict[tuple[str, str, str], dict[str, dict[str, int]]] = {}

    def edge(self, op: Op) -> Edge:
        store, minute, kind, region, amount, visitors = op
        window = MINUTES[minute]
        home, channel = STORES[store]
        segment = f"{region or home}|{channel}|{DAY}"
        self.versions[(store, window, kind)] += 1
        segments = {segment: _counters(kind, amount, visitors)}
        self.latest[(store, window, kind)] = segments
        version = self.versions[(store, window, kind)]
        stamp = f"{window[:17]}{version % 60:02d}Z"
        return Edge(RollupKey("store", store, "hour", hour_of(window)), f"{window}|{kind}", version, stamp, segments)

    def expected(self) -> tuple[dict[tuple[str, str, str], dict[str, int]], dict[tuple[str, str, str], dict[str, int]]]:
        """({(scope, key, minute): counters}, {(scope, key, hour): counters})."""
        minutes: dict[tuple[str, str], dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
        hours: dict[tuple[str, str], dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
        for (store, window, _kind), segments in self.latest.items():
            for into in (minutes[(store, window)], hours[(store, window[:14] + "00:00Z")]):
                for segment, counters in segments.items():
                    for name, value in counters.items():
                        into[segment][name] = into[segment].get(name, 0) + value
        return _members(minutes), _members(hours)


def _members(windows: dict[tuple[str, str], dict[str, dict[str, int]]]) -> dict[tuple[str, str, str], dict[str, int]]:
    out: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (_store, window), segments in windows.items():
        by_region: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        by_channel: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for segment, counters in segments.items():
            region, channel, _ = segment.split("|")
            for name, value in counters.items():
                by_region[region][name] += value
                by_channel[channel][name] += value
        for scope, parts in (("region", by_region), ("channel", by_channel)):
            for key, counters in parts.items():
                conv = counters.get("sales", 0) if counters.get("traffic_reports", 0) > 0 else 0
                for name, value in {**counters, "conv_sales": conv}.items():
                    out[(scope, key, window)][name] += value
                    if scope == "region":
                        out[("chain", "ALL", window)][name] += value
    return {k: {n: v for n, v in c.items() if v} for k, c in out.items()}


def _cascade(store: Any, edges: list[Any], levels: int | None = None) -> None:
    level = 0
    while edges and (levels is None or level < levels):
        edges, _ = apply_edges(store, edges)
        level += 1


def _nonzero(counters: dict[str, int]) -> dict[str, int]:
    return {n: v for n, v in counters.items() if v}


def _check(store: SqliteDocumentStore, stream: _Stream, *, legacy: bool = False) -> None:
    want_minutes, want_hours = stream.expected()
    got_minutes = {}
    for scope in ("region", "channel", "chain"):
        for doc in query_minutes(store, scope, None, None):
            got_minutes[(scope, doc["key"], doc["window"])] = _nonzero(doc["segments"]["*"])
    assert {k: v for k, v in got_minutes.items() if v} == want_minutes
    hours = store.query(ROLLUPS_CONTAINER, where={"grain": "hour"})
    got_hours = {
        (d["scope"], d["key"], d["window"]): _nonzero(d["segments"]["*"]) for d in hours if d["scope"] != "store"
    }
    assert {k: v for k, v in got_hours.items() if v} == want_hours
    rows = {(r["key"], r["window"]): r["transactions"] for r in kpi_rows(store, "chain", "minute", NOW)}
    sold = {(k, w): c.get("sales", 0) for (s, k, w), c in want_minutes.items() if s == "chain"}
    assert {m: n for m, n in rows.items() if n} == {m: n for m, n in sold.items() if n}
    if not legacy:
        assert store.query(ROLLUPS_CONTAINER, where={"grain": "minute"}) == store.query(
            ROLLUPS_CONTAINER, where={"scope": "store", "grain": "minute"}
        )


ops = st.tuples(
    st.sampled_from(sorted(STORES)),
    st.integers(0, len(MINUTES) - 1),
    st.sampled_from(KINDS),
    st.sampled_from(["", "", "", "SOUTH"]),  # now and then the store is in another region (SCD type 2)
    st.integers(1, 50_000),
    st.integers(0, 40),
)


_A: Op = ("S0", 0, "sales", "", 1, 0)
_S1: Op = ("S1", 4, "sales", "", 1, 0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(  # S1 moves into SOUTH past its kept steps (a re-sum) while S0 leaves it; the page is replayed
    pages=[
        [_A],
        [_A, _S1],
        [_A, _S1],
        [_A, _S1],
        [_A, ("S0", 4, "sales", "SOUTH", 1, 0), _S1],
        [_A, ("S0", 4, "sales", "", 1, 0), ("S1", 4, "sales", "SOUTH", 1, 0)],
    ],
    crashes=[None] * 8,
)
@given(
    pages=st.lists(st.lists(ops, min_size=1, max_size=12), min_size=1, max_size=8),
    crashes=st.lists(st.sampled_from([None, None, 1, 2]), min_size=8, max_size=8),
)
def test_buckets_equal_the_minutes_summed_through_replays_and_crashes(
    pages: list[list[Op]], crashes: list[int | None]
) -> None:
    """Each page may crash after one or two levels; it is replayed (the feed gives it again) until it passes."""
    stream = _Stream()
    with tempfile.TemporaryDirectory() as tmp, SqliteDocumentStore(Path(tmp) / "s.db") as store:
        for page, crash in zip(pages, crashes, strict=False):
            edges = [stream.edge(op) for op in page]
            if crash is not None:
                _cascade(store, list(edges), levels=crash)
            _cascade(store, list(edges))
            _cascade(store, list(edges))  # an at-least-once replay changes nothing
        _check(store, stream)


def _store_hour(store: SqliteDocumentStore, key: str, hour: str) -> Document:
    ident = RollupKey("store", key, "hour", hour)
    doc = store.read(ROLLUPS_CONTAINER, ident.pk, ident.id)
    assert doc is not None
    return doc


def test_a_member_takes_two_versions_at_once_when_the_earlier_edge_comes_late(tmp_path: Path) -> None:
    """Two writers raced on a store hour: the edge of its second version reaches the region first."""
    stream = _Stream()
    with SqliteDocumentStore(tmp_path / "s.db") as store:
        hour = MINUTES[0][:14] + "00:00Z"
        _cascade(store, [stream.edge(("S0", 0, "sales", "", 100, 0))])
        _cascade(store, [stream.edge(("S0", 1, "sales", "", 250, 0))], levels=1)  # store hour v2, region not yet
        v2 = _store_hour(store, "S0", hour)
        _cascade(store, [stream.edge(("S0", 0, "traffic", "", 0, 7))], levels=1)  # store hour v3
        v3 = _store_hour(store, "S0", hour)
        assert (v2["v"], v3["v"]) == (2, 3)
        apply_edges(store, list(bucket_edges(v3)))  # v1 -> v3 in one step, from the kept steps
        apply_edges(store, list(bucket_edges(v2)))  # already in: nothing changes
        key = RollupKey("region", "EAST", "hour", hour)
        region = store.read(ROLLUPS_CONTAINER, key.pk, key.id)
        assert region is not None and region["stores"] == {"S0": 3} and region["v"] == 2
        _check(store, stream)


def test_a_member_behind_the_kept_steps_is_summed_again_from_the_store_hours(tmp_path: Path) -> None:
    stream = _Stream()
    with SqliteDocumentStore(tmp_path / "s.db") as store:
        _cascade(store, [stream.edge(("S0", 0, "sales", "", 100, 0)), stream.edge(("S1", 0, "sales", "", 7, 0))])
        for n in range(MAX_STEPS + 2):  # more versions than a store hour keeps, none reaching the region
            _cascade(store, [stream.edge(("S0", n % 3, "sales", "", 10 + n, 0))], levels=1)
        hour = MINUTES[0][:14] + "00:00Z"
        latest = _store_hour(store, "S0", hour)
        assert len(orjson.loads(latest["steps"])) < MAX_STEPS + 2
        _cascade(store, list(bucket_edges(latest)))
        _check(store, stream)


def test_an_hour_written_before_buckets_is_summed_again_and_its_minute_documents_read_until_then(
    tmp_path: Path,
) -> None:
    stream = _Stream()
    with SqliteDocumentStore(tmp_path / "s.db") as store:
        _cascade(store, [stream.edge(("S0", 0, "sales", "", 100, 0)), stream.edge(("S2", 1, "sales", "", 40, 0))])
        hour = MINUTES[0][:14] + "00:00Z"
        # What an earlier build left: the region's hour with stores as children, and the minute as a document.
        old_hour = RollupKey("region", "EAST", "hour", hour)
        old_minute = RollupKey("region", "EAST", "minute", MINUTES[0])
        legacy_counters = {"sales": 2, "gross_cents": 100, "units": 2, "conv_sales": 0}
        store.write_many(
            ROLLUPS_CONTAINER,
            [
                WriteOp.upsert(_legacy(old_hour, {"S0": "[1,null,{}]"}, legacy_counters, 4)),
                WriteOp.upsert(_legacy(old_minute, {"S0": "[1,null,{}]"}, legacy_counters, 9)),
            ],
        )
        got = read_rollups(store, [old_minute])
        assert got[old_minute.id]["v"] == 9 and "basis" not in got[old_minute.id]  # read where it is
        minutes = list(query_minutes(store, "region", None, None, "EAST"))
        assert [(d["window"], d.get("basis")) for d in minutes] == [(MINUTES[0], None)]
        _cascade(store, [stream.edge(("S0", 1, "sales", "", 5, 0))])  # the next change re-sums the old hour
        converted = store.read(ROLLUPS_CONTAINER, old_hour.pk, old_hour.id)
        assert converted is not None and "buckets" in converted and converted["v"] == 5
        assert [d.get("basis") for d in query_minutes(store, "region", None, None, "EAST")] == ["bucket", "bucket"]
        _check(store, stream, legacy=True)


def _legacy(key: RollupKey, children: dict[str, str], counters: dict[str, int], version: int) -> Document:
    return {
        **key.fields(),
        "state_version": 1,
        "v": version,
        "as_of": None,
        "children": children,
        "segments": {"*": counters},
    }


def test_recomputing_what_is_held_writes_nothing_and_a_bucket_no_store_feeds_falls_to_zero(tmp_path: Path) -> None:
    stream = _Stream()
    with SqliteDocumentStore(tmp_path / "s.db") as store:
        _cascade(store, [stream.edge(("S0", 0, "sales", "", 100, 0)), stream.edge(("S0", 1, "sales", "", 3, 0))])
        hour = MINUTES[0][:14] + "00:00Z"
        key = RollupKey("region", "EAST", "hour", hour)
        held = store.read(ROLLUPS_CONTAINER, key.pk, key.id)
        store_hours = store.query(ROLLUPS_CONTAINER, where={"scope": "store", "grain": "hour", "window": hour})
        assert recomputed(held, key, store_hours) is None
        gone = [
            {**d, "children": {m: c for m, c in d["children"].items() if minute_of_child(m) != MINUTES[1]}}
            for d in store_hours
        ]
        again = recomputed(held, key, gone)
        assert again is not None
        by_window = {d["window"]: d for d in minute_docs(again)}
        assert by_window[MINUTES[1]]["v"] == again["v"] and not any(by_window[MINUTES[1]]["segments"]["*"].values())
        assert by_window[MINUTES[0]]["v"] < again["v"]  # unchanged bucket keeps its version


def test_a_bucket_edge_for_a_version_already_held_changes_nothing(tmp_path: Path) -> None:
    stream = _Stream()
    with SqliteDocumentStore(tmp_path / "s.db") as store:
        _cascade(store, [stream.edge(("S3", 0, "sales", "", 100, 0))])
        hour = MINUTES[0][:14] + "00:00Z"
        key = RollupKey("chain", "ALL", "hour", hour)
        held = store.read(ROLLUPS_CONTAINER, key.pk, key.id)
        edges = [e for e in bucket_edges(_store_hour(store, "S3", hour)) if e.parent == key]

        def unread() -> Iterator[Document]:
            raise AssertionError("no re-sum needed")

        assert next_bucket_version(held, key, edges, unread) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("scope", ["region", "channel", "chain"])
def test_no_minute_document_is_written_above_the_store(tmp_path: Path, scope: str) -> None:
    stream = _Stream()
    with SqliteDocumentStore(tmp_path / "s.db") as store:
        _cascade(store, [stream.edge(("S0", m, "sales", "", 10 + m, 0)) for m in range(len(MINUTES))])
        assert store.query(ROLLUPS_CONTAINER, where={"scope": scope, "grain": "minute"}) == []
        hours = store.query(ROLLUPS_CONTAINER, where={"scope": scope, "grain": "hour"})
        assert len(hours) == 2 and all(
            len(h["buckets"]) == (4 if h["window"].endswith("10:00:00Z") else 2) for h in hours
        )
