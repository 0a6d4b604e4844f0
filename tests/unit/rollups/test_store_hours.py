"""Store minutes inside their hour: exact through replays, crashes and hours written before.

A view feeds its store hour directly (``<minute>|sales``, ``<minute>|traffic``); a
minute's orders meet in a minute document of their own, which feeds the hour as
``<minute>|orders``. The oracle sums the latest version of every child per minute.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import orjson
from hypothesis import HealthCheck, given, settings

from shared.engine.windows import hour_of
from shared.rollups.apply import apply_edges
from shared.rollups.cascade import Edge
from shared.rollups.keys import ROLLUPS_CONTAINER, RollupKey
from shared.rollups.minutes import query_minutes, read_rollups
from shared.rollups.store_hours import MINUTE_VERSIONS
from shared.stores import SqliteDocumentStore
from shared.stores.port import Document, WriteOp

DAY = "2026-11-26"
MINUTES = [f"{DAY}T10:{m:02d}:00Z" for m in (0, 1, 59)] + [f"{DAY}T11:05:00Z"]
STORES = ("S0", "S1")
SEGMENT = f"EAST|store|{DAY}"

Op = tuple[str, int, str, int]
"""(store, minute index, child: "sales", "traffic" or an order key, amount)."""


class _Stream:
    def __init__(self) -> None:
        self.versions: dict[tuple[str, str, str], int] = defaultdict(int)
        self.latest: dict[tuple[str, str, str], dict[str, int]] = {}

    def edge(self, op: Op) -> Edge:
        store, minute, child, amount = op
        window = MINUTES[minute]
        self.versions[(store, window, child)] += 1
        version = self.versions[(store, window, child)]
        counters = {"visitors": amount} if child == "traffic" else {"sales": 1, "gross_cents": amount}
        self.latest[(store, window, child)] = counters
        stamp = f"{window[:17]}{version % 60:02d}Z"
        if child in ("sales", "traffic"):
            parent = RollupKey("store", store, "hour", hour_of(window))
            return Edge(parent, f"{window}|{child}", version, stamp, {SEGMENT: counters})
        return Edge(RollupKey("store", store, "minute", window), f"order:{child}", version, stamp, {SEGMENT: counters})

    def expected(self) -> dict[tuple[str, str], dict[str, int]]:
        out: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for (store, window, _), counters in self.latest.items():
            for name, value in counters.items():
                out[(store, window)][name] += value
        return {k: dict(v) for k, v in out.items()}


def _cascade(store: Any, edges: list[Any], levels: int | None = None) -> None:
    level = 0
    while edges and (levels is None or level < levels):
        edges, _ = apply_edges(store, edges)
        level += 1


def _minutes(store: SqliteDocumentStore) -> dict[tuple[str, str], dict[str, int]]:
    got = {(d["key"], d["window"]): d["segments"].get(SEGMENT, {}) for d in query_minutes(store, "store", None, None)}
    return {k: {n: v for n, v in c.items() if v} for k, c in got.items() if any(c.values())}


def _check(store: SqliteDocumentStore, stream: _Stream) -> None:
    want = stream.expected()
    assert _minutes(store) == want
    keys = [RollupKey("store", s, "minute", w) for s in STORES for w in MINUTES]
    points = read_rollups(store, keys)
    assert {(d["key"], d["window"]): d["segments"][SEGMENT] for d in points.values() if d["segments"]} == want
    chain = {d["window"]: d["segments"]["*"].get("sales", 0) for d in query_minutes(store, "chain", None, None)}
    sold: dict[str, int] = defaultdict(int)
    for (_, window), counters in want.items():
        sold[window] += counters.get("sales", 0)
    assert {w: n for w, n in chain.items() if n} == {w: n for w, n in sold.items() if n}


ops = st.tuples(
    st.sampled_from(STORES),
    st.integers(0, len(MINUTES) - 1),
    st.sampled_from(["sales", "traffic", "o1", "o2"]),
    st.integers(1, 9_999),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pages=st.lists(st.lists(ops, min_size=1, max_size=10), min_size=1, max_size=6),
    crashes=st.lists(st.sampled_from([None, None, 1, 2]), min_size=6, max_size=6),
)
def test_store_minutes_read_from_their_hour_equal_their_children_summed(
    pages: list[list[Op]], crashes: list[int | None]
) -> None:
    stream = _Stream()
    with tempfile.TemporaryDirectory() as tmp, SqliteDocumentStore(Path(tmp) / "s.db") as store:
        for page, crash in zip(pages, crashes, strict=False):
            views = [stream.edge(op) for op in page if op[2] in ("sales", "traffic")]
            orders = [stream.edge(op) for op in page if op[2] not in ("sales", "traffic")]
            for edges in (views, orders):  # a views page and an orders page, as the two feeds give them
                if crash is not None:
                    _cascade(store, list(edges), levels=crash)
                _cascade(store, list(edges))
                _cascade(store, list(edges))  # an at-least-once replay changes nothing
        _check(store, stream)
        minute_docs = store.query(ROLLUPS_CONTAINER, where={"scope": "store", "grain": "minute"})
        ordered = {(s, w) for (s, w, child) in stream.latest if child not in ("sales", "traffic")}
        assert {(d["key"], d["window"]) for d in minute_docs} == ordered  # a minute document holds orders only
        assert all(d["part"] == "orders" for d in minute_docs)


def test_a_views_page_writes_each_store_hour_once_and_no_minute_document(tmp_path: Path) -> None:
    stream = _Stream()
    with SqliteDocumentStore(tmp_path / "s.db") as store:
        writes: list[str] = []
        inner = store.write_many

        def counting(container: str, ops: list[WriteOp]) -> Any:
            writes.extend(op.doc["id"] for op in ops if container == ROLLUPS_CONTAINER)
            return inner(container, ops)

        store.write_many = counting  # type: ignore[method-assign]
        _cascade(store, [stream.edge(("S0", m, kind, 5 + m)) for m in (0, 1, 2, 3) for kind in ("sales", "traffic")])
        store_writes = [w for w in writes if w.startswith("kpi|store|")]
        assert sorted(store_writes) == sorted(
            [f"kpi|store|S0|hour|{DAY}T10:00:00Z", f"kpi|store|S0|hour|{DAY}T11:00:00Z", f"kpi|store|S0|day|{DAY}"]
        )
        _check(store, stream)


def _legacy_minute(store_id: str, window: str, children: dict[str, tuple[int, dict[str, int]]], v: int) -> Document:
    key = RollupKey("store", store_id, "minute", window)
    packed = {
        name: orjson.dumps([cv, f"{window[:17]}0{cv}Z", {SEGMENT: c}]).decode() for name, (cv, c) in children.items()
    }
    summed: dict[str, int] = defaultdict(int)
    for _, counters in children.values():
        for name, value in counters.items():
            summed[name] += value
    return {
        **key.fields(),
        "state_version": 1,
        "v": v,
        "as_of": None,
        "children": packed,
        "segments": {SEGMENT: dict(summed)},
    }


def test_a_store_hour_written_before_is_split_by_its_minute_documents_at_the_first_change(tmp_path: Path) -> None:
    """What an earlier build left: whole minutes as children of the hour, each a minute document."""
    w0, w1 = MINUTES[0], MINUTES[1]
    sales, traffic, order = {"sales": 1, "gross_cents": 700}, {"visitors": 9}, {"sales": 1, "gross_cents": 300}
    m0 = _legacy_minute("S0", w0, {"sales": (2, sales), "traffic": (1, traffic), "order:o1": (1, order)}, 4)
    m1 = _legacy_minute("S0", w1, {"sales": (1, sales)}, 1)
    hour = RollupKey("store", "S0", "hour", hour_of(w0))
    children = {m["window"]: orjson.dumps([m["v"], None, m["segments"]]).decode() for m in (m0, m1)}
    legacy_hour = {
        **hour.fields(),
        "state_version": 1,
        "v": 2,
        "as_of": None,
        "children": children,
        "segments": {SEGMENT: {"sales": 3, "gross_cents": 1700, "visitors": 9}},
    }
    with SqliteDocumentStore(tmp_path / "s.db") as store:
        store.write_many(ROLLUPS_CONTAINER, [WriteOp.upsert(d) for d in (m0, m1, legacy_hour)])
        before = {(d["key"], d["window"]): d["v"] for d in query_minutes(store, "store", None, None)}
        assert before == {("S0", w0): 4, ("S0", w1): 1}  # read where they are, until the hour changes
        newer = {"sales": 1, "gross_cents": 900}
        _cascade(store, [Edge(hour, f"{w0}|sales", 3, f"{w0[:17]}30Z", {SEGMENT: newer})])
        doc = store.read(ROLLUPS_CONTAINER, hour.pk, hour.id)
        assert doc is not None and MINUTE_VERSIONS in doc
        assert set(doc["children"]) == {w1, f"{w0}|orders", f"{w0}|sales", f"{w0}|traffic"}  # w1 untouched
        assert doc["segments"][SEGMENT] == {"sales": 3, "gross_cents": 1900, "visitors": 9}
        got = {(d["key"], d["window"]): d for d in query_minutes(store, "store", None, None)}
        assert got[("S0", w0)]["segments"][SEGMENT] == {"sales": 2, "gross_cents": 1200, "visitors": 9}
        assert got[("S0", w1)]["segments"][SEGMENT] == sales and got[("S0", w1)]["basis"] == "bucket"
        # the old minute document's next order change feeds its orders only
        m0_key = RollupKey("store", "S0", "minute", w0)
        _cascade(store, [Edge(m0_key, "order:o2", 1, None, {SEGMENT: order})])
        again = {(d["key"], d["window"]): d["segments"][SEGMENT] for d in query_minutes(store, "store", None, None)}
        assert again[("S0", w0)] == {"sales": 3, "gross_cents": 1500, "visitors": 9}
        _cascade(store, [Edge(m0_key, "order:o2", 1, None, {SEGMENT: order})])  # replayed: nothing changes
        assert {k: d["segments"][SEGMENT] for k, d in got.items()} != again
        assert {
            (d["key"], d["window"]): d["segments"][SEGMENT] for d in query_minutes(store, "store", None, None)
        } == again
