"""One contract, two adapters: the embedded SQLite store and Cosmos DB (real emulator).

Where `@vercel/cosmosdb-server` lacks a feature the test skips *by name* with the
reason (see `NPM_SERVER_GAPS`); the embedded run of the same test proves it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.stores import (
    Conflict,
    DocumentStore,
    NotFound,
    PreconditionFailed,
    SqliteDocumentStore,
    WriteOp,
)
from tests.fixtures.emulators import CosmosTarget


class ManualClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    """A store under test, and how to let time pass for it."""

    store: DocumentStore
    kind: str
    advance: Callable[[float], None]
    lacks: Callable[[str], str | None]

    def require(self, feature: str) -> None:
        reason = self.lacks(feature)
        if reason:
            pytest.skip(f"{feature}: @vercel/cosmosdb-server {reason}; proven on the embedded store")


@pytest.fixture(params=["embedded", pytest.param("cosmos", marks=pytest.mark.emulator)])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    if request.param == "embedded":
        clock = ManualClock()

        def advance(seconds: float) -> None:
            clock.now += seconds

        with SqliteDocumentStore(tmp_path / "store.db", clock=clock) as store:
            yield Harness(store, "embedded", advance, lambda feature: None)
    else:
        target: CosmosTarget = request.getfixturevalue("cosmos_target")
        with target.open_store() as cosmos:
            yield Harness(cosmos, f"cosmos-{target.kind}", time.sleep, target.lacks)


def view(doc_id: str, pk: str = "store-1", **fields: object) -> dict[str, object]:
    return {"id": doc_id, "pk": pk, "view": "sales", **fields}


def body(doc: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


# -- CRUD -----------------------------------------------------------------------------


def test_create_then_read_returns_the_body_with_etag_and_ts(harness: Harness) -> None:
    created = harness.store.create("views", view("a", total=10, tags=["x"], nested={"n": 1}))
    read = harness.store.read("views", "store-1", "a")
    assert read is not None
    assert body(read) == {"id": "a", "pk": "store-1", "view": "sales", "total": 10, "tags": ["x"], "nested": {"n": 1}}
    assert isinstance(read["_etag"], str) and read["_etag"] == created["_etag"]
    assert isinstance(read["_ts"], int)
    assert not {"_rid", "_self", "_attachments"} & read.keys()


def test_read_of_a_missing_document_is_none(harness: Harness) -> None:
    assert harness.store.read("views", "store-1", "nope") is None


def test_create_of_an_existing_id_raises_conflict(harness: Harness) -> None:
    harness.store.create("views", view("a", total=1))
    with pytest.raises(Conflict):
        harness.store.create("views", view("a", total=2))
    assert harness.store.read("views", "store-1", "a")["total"] == 1  # type: ignore[index]


def test_replace_with_the_current_etag_writes_and_changes_the_etag(harness: Harness) -> None:
    first = harness.store.create("views", view("a", total=1))
    second = harness.store.replace("views", view("a", total=2), if_match=first["_etag"])
    assert second["_etag"] != first["_etag"]
    assert harness.store.read("views", "store-1", "a")["total"] == 2  # type: ignore[index]


def test_replace_with_a_stale_etag_raises_precondition_failed_and_keeps_the_winner(harness: Harness) -> None:
    first = harness.store.create("views", view("a", total=1))
    harness.store.replace("views", view("a", total=2), if_match=first["_etag"])
    with pytest.raises(PreconditionFailed):
        harness.store.replace("views", view("a", total=99), if_match=first["_etag"])
    assert harness.store.read("views", "store-1", "a")["total"] == 2  # type: ignore[index]


def test_replace_of_a_missing_document_raises_not_found(harness: Harness) -> None:
    etag = harness.store.create("views", view("a"))["_etag"]
    with pytest.raises(NotFound):
        harness.store.replace("views", view("b"), if_match=etag)


def test_upsert_creates_then_overwrites(harness: Harness) -> None:
    created = harness.store.upsert("views", view("a", total=1))
    updated = harness.store.upsert("views", view("a", total=5))
    assert updated["_etag"] != created["_etag"]
    assert body(harness.store.read("views", "store-1", "a") or {}) == view("a", total=5)


def test_system_properties_in_a_written_body_are_ignored(harness: Harness) -> None:
    created = harness.store.create("views", {**view("a"), "_etag": '"forged"', "_ts": 1, "_lsn": 7})
    assert created["_etag"] != '"forged"'
    read = harness.store.read("views", "store-1", "a")
    assert read is not None and read["_etag"] == created["_etag"] and "_lsn" not in read


def test_delete_honours_if_match_and_reports_missing(harness: Harness) -> None:
    first = harness.store.create("views", view("a"))
    current = harness.store.replace("views", view("a", total=1), if_match=first["_etag"])
    with pytest.raises(PreconditionFailed):
        harness.store.delete("views", "store-1", "a", if_match=first["_etag"])
    harness.store.delete("views", "store-1", "a", if_match=current["_etag"])
    assert harness.store.read("views", "store-1", "a") is None
    with pytest.raises(NotFound):
        harness.store.delete("views", "store-1", "a")


def test_the_same_id_in_two_partitions_is_two_documents(harness: Harness) -> None:
    harness.store.create("views", view("a", "store-1", total=1))
    harness.store.create("views", view("a", "store-2", total=2))
    harness.store.delete("views", "store-1", "a")
    assert harness.store.read("views", "store-1", "a") is None
    assert harness.store.read("views", "store-2", "a")["total"] == 2  # type: ignore[index]


def test_unknown_container_and_missing_partition_key_are_refused(harness: Harness) -> None:
    with pytest.raises(ValueError, match="unknown container 'nope'"):
        harness.store.read("nope", "p", "a")
    with pytest.raises(ValueError, match="needs a non-empty string 'pk'"):
        harness.store.create("views", {"id": "a"})


# -- batches --------------------------------------------------------------------------


def test_read_many_returns_found_documents_by_id_and_omits_missing(harness: Harness) -> None:
    for doc_id, pk in [("a", "store-1"), ("b", "store-1"), ("c", "store-2")]:
        harness.store.create("views", view(doc_id, pk, total=ord(doc_id)))
    found = harness.store.read_many("views", [("store-1", "a"), ("store-2", "c"), ("store-1", "x"), ("store-2", "b")])
    assert sorted(found) == ["a", "c"]
    assert found["c"]["total"] == ord("c") and found["a"]["_etag"]
    assert harness.store.read_many("views", []) == {}


def test_write_many_reports_each_outcome_and_applies_the_winners(harness: Harness) -> None:
    existing = harness.store.create("views", view("old", total=1))
    harness.store.create("views", view("dup", total=1))
    stale = harness.store.create("views", view("raced", total=1))
    harness.store.replace("views", view("raced", total=2), if_match=stale["_etag"])

    results = harness.store.write_many(
        "views",
        [
            WriteOp.create(view("new", total=1)),
            WriteOp.create(view("dup", total=100)),
            WriteOp.replace(view("old", total=2), existing["_etag"]),
            WriteOp.replace(view("raced", total=100), stale["_etag"]),
            WriteOp.replace(view("ghost", total=1), stale["_etag"]),
            WriteOp.upsert(view("up", total=7)),
        ],
    )

    assert [r.outcome for r in results] == ["ok", "conflict", "ok", "precondition_failed", "not_found", "ok"]
    assert results[0].doc is not None and results[0].doc["_etag"]
    assert results[1].doc is None
    totals = {d: harness.store.read("views", "store-1", d) for d in ("new", "dup", "old", "raced", "ghost", "up")}
    assert {d: (doc or {}).get("total") for d, doc in totals.items()} == {
        "new": 1,
        "dup": 1,
        "old": 2,
        "raced": 2,
        "ghost": None,
        "up": 7,
    }


def test_write_many_refuses_two_writes_of_one_document(harness: Harness) -> None:
    ops = [WriteOp.upsert(view("a", total=1)), WriteOp.upsert(view("b")), WriteOp.upsert(view("a", total=2))]
    with pytest.raises(ValueError, match="got document 'a' of partition 'store-1' twice"):
        harness.store.write_many("views", ops)
    assert harness.store.read("views", "store-1", "a") is None
    results = harness.store.write_many("views", [WriteOp.upsert(view("a")), WriteOp.upsert(view("a", "store-2"))])
    assert [r.outcome for r in results] == ["ok", "ok"]  # same id, other partition: another document


# -- queries --------------------------------------------------------------------------


def _seed_windows(store: DocumentStore) -> None:
    for store_no in (1, 2):
        for minute in range(4):
            window = f"2024-05-01T10:0{minute}"
            store.create("views", view(f"s{store_no}-{minute}", f"store-{store_no}", window=window, total=minute))
    store.create("views", {"id": "t-1", "pk": "store-1", "view": "traffic", "window": "2024-05-01T10:01"})


def test_query_filters_by_equality_and_half_open_range_across_partitions(harness: Harness) -> None:
    _seed_windows(harness.store)
    found = harness.store.query(
        "views", where={"view": "sales"}, where_range={"window": ("2024-05-01T10:01", "2024-05-01T10:03")}
    )
    assert sorted(d["id"] for d in found) == ["s1-1", "s1-2", "s2-1", "s2-2"]
    open_ended = harness.store.query("views", where={"view": "sales"}, where_range={"total": (3, None)})
    assert sorted(d["id"] for d in open_ended) == ["s1-3", "s2-3"]


def test_query_scoped_to_a_partition_with_order_and_limit(harness: Harness) -> None:
    _seed_windows(harness.store)
    ordered = harness.store.query("views", pk="store-2", where={"view": "sales"}, order_by="-window", limit=3)
    assert [d["id"] for d in ordered] == ["s2-3", "s2-2", "s2-1"]
    ascending = harness.store.query("views", pk="store-1", order_by="total", where={"view": "sales"})
    assert [d["total"] for d in ascending] == [0, 1, 2, 3]
    assert harness.store.query("views", pk="store-9") == []


def test_query_refuses_fields_that_are_not_identifiers(harness: Harness) -> None:
    with pytest.raises(ValueError, match="must match"):
        harness.store.query("views", where={"view') OR 1=1 --": "x"})
    with pytest.raises(ValueError, match="must match"):
        harness.store.query("views", fields=["total", "body) --"])
    with pytest.raises(ValueError, match="not one string"):
        harness.store.query("views", fields="total")


def test_query_returns_only_the_projected_fields_with_id_and_etag(harness: Harness) -> None:
    _seed_windows(harness.store)
    harness.store.create(
        "views", {"id": "nested", "pk": "store-1", "view": "sales", "window": "2024-05-01T10:09", "total": 9,
                  "children": {"a": {"v": 1}}, "segments": {"r|c|d": {"n": 2}}},
    )  # fmt: skip
    whole = harness.store.query("views", pk="store-1", where={"view": "sales"}, order_by="window")
    projected = harness.store.query(
        "views", pk="store-1", where={"view": "sales"}, order_by="window", fields=["window", "segments"]
    )
    assert [d["id"] for d in projected] == [d["id"] for d in whole]
    assert [d["_etag"] for d in projected] == [d["_etag"] for d in whole]
    assert projected[-1]["segments"] == {"r|c|d": {"n": 2}}  # an object stays an object
    for doc, full in zip(projected, whole, strict=True):
        assert {k: v for k, v in doc.items() if v is not None and not k.startswith("_")} == {
            k: full[k] for k in ("id", "window", "segments") if k in full
        }
    [top] = harness.store.query("views", where={"view": "sales"}, order_by="-total", limit=1, fields=["total"])
    assert (top["id"], top["total"]) == ("nested", 9)


# -- TTL ------------------------------------------------------------------------------


def test_documents_expire_per_container_ttl_and_per_document_ttl(harness: Harness) -> None:
    harness.require("ttl")
    harness.store.create("deadletters", {"id": "short", "pk": "txn", "ttl": 1})
    harness.store.create("deadletters", {"id": "forever", "pk": "txn", "ttl": -1})
    harness.store.create("deadletters", {"id": "default", "pk": "txn"})  # container default: 30 days
    assert harness.store.read("deadletters", "txn", "short") is not None
    harness.advance(2.5)
    assert harness.store.read("deadletters", "txn", "short") is None
    assert sorted(d["id"] for d in harness.store.query("deadletters", pk="txn")) == ["default", "forever"]
    harness.store.create("deadletters", {"id": "short", "pk": "txn"})  # the id is free again


# -- change feed ----------------------------------------------------------------------


def _drain(store: DocumentStore, token: str | None, page_size: int) -> tuple[list[str], str | None]:
    seen: list[str] = []
    while True:
        page = store.change_feed("views", token, max_items=page_size)
        if not page.docs:
            return seen, page.continuation
        seen += [d["id"] for d in page.docs]
        token = page.continuation


def test_change_feed_gives_each_document_once_in_modification_order_and_resumes(harness: Harness) -> None:
    harness.require("change_feed")
    docs = {d: harness.store.create("views", view(d, total=0)) for d in ("a", "b", "c")}
    harness.store.replace("views", view("a", total=1), if_match=docs["a"]["_etag"])

    seen, token = _drain(harness.store, None, page_size=2)
    assert seen == ["b", "c", "a"]  # a's latest version, after its last modification
    assert token is not None

    harness.store.upsert("views", view("b", total=5))
    harness.store.create("views", view("d"))
    page = harness.store.change_feed("views", token)
    assert [(d["id"], d.get("total")) for d in page.docs] == [("b", 5), ("d", None)]
    assert all(isinstance(d["_lsn"], int) for d in page.docs)
    assert harness.store.change_feed("views", page.continuation).docs == []


# -- optimistic concurrency -----------------------------------------------------------


def test_etag_race_loser_rereads_and_retries_so_both_increments_land(harness: Harness) -> None:
    harness.store.create("views", view("counter", total=0))
    reader_a = harness.store.read("views", "store-1", "counter")
    reader_b = harness.store.read("views", "store-1", "counter")
    assert reader_a is not None and reader_b is not None

    harness.store.replace("views", {**body(reader_a), "total": reader_a["total"] + 1}, if_match=reader_a["_etag"])
    with pytest.raises(PreconditionFailed):
        harness.store.replace("views", {**body(reader_b), "total": reader_b["total"] + 1}, if_match=reader_b["_etag"])
    again = harness.store.read("views", "store-1", "counter")
    assert again is not None
    harness.store.replace("views", {**body(again), "total": again["total"] + 1}, if_match=again["_etag"])

    assert harness.store.read("views", "store-1", "counter")["total"] == 2  # type: ignore[index]


def test_concurrent_writers_with_retry_loops_lose_no_increment(harness: Harness) -> None:
    harness.store.create("views", view("counter", total=0))
    writers, increments, losses = 4, 8, []

    def increment_many() -> None:
        for _ in range(increments):
            while True:
                doc = harness.store.read("views", "store-1", "counter")
                assert doc is not None
                result = harness.store.write_many(
                    "views", [WriteOp.replace({**body(doc), "total": doc["total"] + 1}, doc["_etag"])]
                )[0]
                if result.ok:
                    break
                losses.append(result.outcome)

    threads = [threading.Thread(target=increment_many) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert harness.store.read("views", "store-1", "counter")["total"] == writers * increments  # type: ignore[index]
    assert set(losses) <= {"precondition_failed"}
