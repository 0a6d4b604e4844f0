"""Issue 14: the backlog's sorted promise lists always say what its open orders say, and the page reads only them."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.kpis.state import CHAIN_KEY
from shared.rollups.backlog import (
    apply_orders_to_backlog,
    backlog_documents,
    count_backlog,
    count_backlog_of,
    due_of,
)
from shared.rollups.keys import BACKLOG_IDS, BACKLOG_SHARDS, ROLLUPS_CONTAINER, backlog_id, backlog_shard_id
from shared.rollups.query import backlog_by_scope
from shared.stores._sqlite_ops import query_sql
from shared.stores.embedded import SqliteDocumentStore

MS = 1_000  # status times are microseconds, promises are kept in milliseconds
SEGMENTS = [("EAST", "online"), ("EAST", "store"), ("WEST", "online")]


def _order(store_id: str, key: str, v: int, statuses: list[tuple[str, int, int, tuple[str, str]]]) -> dict[str, Any]:
    records = [
        [status, ts * MS * MS, promised * MS * MS, 0, f"{key}-{n}", region, channel, "UTC"]
        for n, (status, ts, promised, (region, channel)) in enumerate(statuses)
    ]
    return {"id": key, "view": "order", "store_id": store_id, "key": key, "v": v, "statuses": records}


def _by_order(docs: list[dict[str, Any]], scope: str, now_ms: int) -> dict[str, tuple[int, int]]:
    """The rule in words, order by order: open if placed and not completed or cancelled; overdue past its promise."""
    out: dict[str, tuple[int, int]] = {}
    for doc in docs:
        for _v, promised, region, channel in doc["open"].values():
            member = {"store": doc["store_id"], "region": region, "channel": channel, "chain": CHAIN_KEY}[scope]
            opened, overdue = out.get(member, (0, 0))
            out[member] = (opened + 1, overdue + int(promised < now_ms))
    return out


updates = st.lists(
    st.tuples(
        st.sampled_from(["S1", "S2"]),
        st.sampled_from(["o1", "o2", "o3", "o4", "o5"]),
        st.integers(1, 4),  # version: older versions must change nothing
        st.sampled_from(["placed", "picking", "shipped", "cancelled"]),
        st.integers(0, 50),  # promise, seconds
        st.sampled_from(SEGMENTS),
    ),
    min_size=1,
    max_size=40,
)


@pytest.fixture
def store(tmp_path: Path) -> SqliteDocumentStore:
    return SqliteDocumentStore(tmp_path / "pulse.db")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(updates, st.integers(1, 6))
def test_due_lists_equal_the_open_orders_through_any_sequence_of_versions(
    tmp_path: Path, sequence: list[tuple[str, str, int, str, int, tuple[str, str]]], page: int
) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder, SqliteDocumentStore(Path(folder) / "pulse.db") as store:
        _check_sequence(store, sequence, page)


def _check_sequence(
    store: SqliteDocumentStore, sequence: list[tuple[str, str, int, str, int, tuple[str, str]]], page: int
) -> None:
    history: dict[str, list[tuple[str, int, int, tuple[str, str]]]] = {}
    orders = []
    for store_id, key, v, status, promised, segment in sequence:
        steps = history.setdefault(key, [("placed", 0, promised, segment)])
        if status != "placed":
            steps.append((status, len(steps), promised, segment))
        orders.append(_order(store_id, f"{store_id}:{key}", v, list(steps)))
    for start in range(0, len(orders), page):
        apply_orders_to_backlog(store, orders[start : start + page])
    whole = store.query(ROLLUPS_CONTAINER, where={"view": "backlog"})
    for doc in whole:
        assert doc["due"] == due_of(doc["open"])
    counted = backlog_documents(store)
    assert all("open" not in doc for doc in counted), "the page reads the promise lists, not every open order"
    for scope in ("store", "region", "channel", "chain"):
        for now_ms in (0, 25_000, 10**9):
            assert count_backlog(counted, scope, now_ms) == _by_order(whole, scope, now_ms)


def test_a_backlog_written_before_due_existed_is_counted_and_gets_its_lists_at_the_next_order(
    store: SqliteDocumentStore,
) -> None:
    old = {"open": {"S1:a": [1, 5_000, "EAST", "online"], "S1:b": [1, 90_000, "EAST", "store"]}}
    store.upsert(
        ROLLUPS_CONTAINER, {"id": backlog_id("S1"), "pk": backlog_id("S1"), "view": "backlog", "store_id": "S1"} | old
    )
    assert count_backlog(backlog_documents(store), "region", 10_000) == {"EAST": (2, 1)}
    apply_orders_to_backlog(store, [_order("S1", "S1:c", 1, [("placed", 0, 20, ("WEST", "online"))])])
    (doc,) = store.query(ROLLUPS_CONTAINER, where={"view": "backlog"})
    assert doc["due"] == {"EAST|online": [5_000], "EAST|store": [90_000], "WEST|online": [20_000]}


def test_lists_that_disagree_with_the_open_orders_are_rebuilt_from_them(store: SqliteDocumentStore) -> None:
    broken = {"open": {"S1:a": [1, 5_000, "EAST", "online"]}, "due": {"EAST|online": [7_000]}}
    store.upsert(
        ROLLUPS_CONTAINER,
        {"id": backlog_id("S1"), "pk": backlog_id("S1"), "view": "backlog", "store_id": "S1"} | broken,
    )
    apply_orders_to_backlog(store, [_order("S1", "S1:a", 2, [("placed", 0, 6, ("EAST", "online"))])])
    (doc,) = store.query(ROLLUPS_CONTAINER, where={"view": "backlog"})
    assert doc["due"] == {"EAST|online": [6_000]} == due_of(doc["open"])


def test_the_backlog_query_is_a_range_of_the_primary_key(store: SqliteDocumentStore) -> None:
    sql, params = query_sql(ROLLUPS_CONTAINER, 0.0, None, {"view": "backlog"}, {"pk": BACKLOG_IDS}, None, None, ("id",))
    (plan,) = [row[3] for row in store._conn().execute(f"EXPLAIN QUERY PLAN {sql}", params)]
    assert plan.startswith("SEARCH docs USING INDEX") and "container=? AND pk>? AND pk<?" in plan, plan


def test_a_page_rewrites_only_the_shards_of_its_orders(store: SqliteDocumentStore) -> None:
    opened = [_order("S1", f"S1:o{n}", 1, [("placed", 0, 100 + n, SEGMENTS[n % 3])]) for n in range(400)]
    assert apply_orders_to_backlog(store, opened) == BACKLOG_SHARDS  # every shard got some of the 400
    shipped = _order("S1", "S1:o7", 2, [("placed", 0, 107, SEGMENTS[1]), ("shipped", 1, 107, SEGMENTS[1])])
    assert apply_orders_to_backlog(store, [shipped]) == 1
    shard = backlog_shard_id("S1", "S1:o7")
    doc = store.read(ROLLUPS_CONTAINER, shard, shard)
    assert doc is not None and "S1:o7" not in doc["open"] and len(doc["open"]) < 400 // 8
    assert store.read(ROLLUPS_CONTAINER, backlog_id("S1"), backlog_id("S1")) is None
    assert count_backlog(backlog_documents(store), "store", 0) == {"S1": (399, 0)}
    assert count_backlog(backlog_documents(store), "store", 10**9) == {"S1": (399, 399)}


class _Queries:
    """A real store that records the id range of each backlog query and how many documents it returned."""

    def __init__(self, store: SqliteDocumentStore) -> None:
        self._store = store
        self.ranges: list[tuple[Any, Any]] = []
        self.returned: list[int] = []

    def query(self, container: str, **kwargs: Any) -> list[dict[str, Any]]:
        docs = self._store.query(container, **kwargs)
        self.ranges.append(kwargs["where_range"]["pk"])
        self.returned.append(len(docs))
        return docs

    def read_many(self, container: str, keys: Any) -> Any:
        return self._store.read_many(container, keys)


def test_counting_a_group_of_stores_at_a_time_counts_what_one_read_counts(store: SqliteDocumentStore) -> None:
    # Ids that are prefixes of each other ("S1", "S10") sort their documents across the cuts: still once each.
    ids = ["S1", "S10", "S11", "S2", "S3", "S9", "S90"]
    orders = [
        _order(s, f"{s}:o{n}", 1, [("placed", 0, 10 + n, SEGMENTS[n % 3])]) for s in ids for n in range(5 + len(s))
    ]
    apply_orders_to_backlog(store, orders)
    old = {"open": {"S4:a": [1, 5_000, "EAST", "online"]}}  # one store in the form written before the shards
    store.upsert(
        ROLLUPS_CONTAINER, {"id": backlog_id("S4"), "pk": backlog_id("S4"), "view": "backlog", "store_id": "S4"} | old
    )
    stores = [*ids, "S4", "S5"]  # S5 has no backlog
    scopes = ("store", "region", "channel", "chain")
    for now_ms in (0, 14_000, 10**9):
        whole = {scope: count_backlog(backlog_documents(store, stores), scope, now_ms) for scope in scopes}
        for group in (1, 2, 3, 16):
            counting = _Queries(store)
            assert count_backlog_of(counting, stores, scopes, now_ms, group=group) == whole  # type: ignore[arg-type]
            assert len(counting.ranges) == -(-len(stores) // group)
            assert sum(counting.returned) == len(backlog_documents(store))  # every document read once
    assert count_backlog_of(store, ["S2"], ["store"], 10**9, group=1) == {"store": {"S2": (7, 7)}}
    # Every store's backlog, cut at some of them (the alert rules: stores outside the reference data count too).
    everything = {scope: count_backlog(backlog_documents(store), scope, 14_000) for scope in scopes}
    assert everything["store"].keys() == {*ids, "S4"}
    for cut_at in (["S10", "S3"], ["S2"], []):
        counting = _Queries(store)
        counted = count_backlog_of(counting, cut_at, scopes, 14_000, group=1, every_store=True)  # type: ignore[arg-type]
        assert counted == everything and len(counting.ranges) == max(1, len(cut_at))
        at = datetime.fromtimestamp(14, UTC)  # the count every reader shares, in parts or in one read
        assert backlog_by_scope(store, "region", at, cut_at=cut_at) == everything["region"]
