"""The event-id registry's table in the embedded store: every operation as on `docs`, keyed by a digest."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from shared.stores import Conflict, NotFound, PreconditionFailed, SqliteDocumentStore, WriteOp
from shared.stores._sqlite_schema import SCHEMA_VERSION
from shared.topology import EVENT_IDS_CONTAINER
from tests.fixtures.fake_powerbi import ManualClock

C = EVENT_IDS_CONTAINER


def entry(n: int, **fields: object) -> dict[str, object]:
    key = f"txn|{n:032x}"
    return {"id": key, "pk": key, "position": f"0:{n}", **fields}


def rows(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table} WHERE container = ?", (C,)).fetchone()[0])


def test_registry_documents_live_in_the_points_table_and_behave_like_documents(tmp_path: Path) -> None:
    clock = ManualClock(1_700_000_000.0)
    with SqliteDocumentStore(tmp_path / "pulse.db", clock=clock) as store:
        first = store.create(C, entry(1, ttl=60))
        with pytest.raises(Conflict):
            store.create(C, entry(1))
        assert store.read(C, first["pk"], first["id"])["position"] == "0:1"
        results = store.write_many(C, [WriteOp.create(entry(1)), WriteOp.create(entry(2)), WriteOp.create(entry(3))])
        assert [r.outcome for r in results] == ["conflict", "ok", "ok"]
        keys = [(e["id"], e["id"]) for e in (entry(1), entry(2), entry(9))]
        assert sorted(d["position"] for d in store.read_many(C, keys).values()) == ["0:1", "0:2"]

        current = store.read(C, entry(2)["id"], entry(2)["id"])
        replaced = store.replace(C, entry(2, position="0:20"), current["_etag"])
        with pytest.raises(PreconditionFailed):
            store.replace(C, entry(2, position="0:21"), first["_etag"])
        assert store.read(C, replaced["id"], replaced["id"])["position"] == "0:20"
        store.upsert(C, entry(4))
        store.delete(C, entry(3)["id"], entry(3)["id"])
        with pytest.raises(NotFound):
            store.delete(C, entry(3)["id"], entry(3)["id"])

        fed = store.change_feed(C, None).docs
        assert [d["id"] for d in fed] == [entry(1)["id"], entry(2)["id"], entry(4)["id"]]
        assert [d["id"] for d in store.query(C, where={"position": "0:4"})] == [entry(4)["id"]]

        clock.advance_to(clock() + 61)  # entry 1's own ttl: gone, and a create may take its place before the purge
        assert store.read(C, entry(1)["id"], entry(1)["id"]) is None
        assert store.create(C, entry(1, position="0:100"))["position"] == "0:100"
        clock.advance_to(clock() + 9 * 86_400 + 1)  # the container's ttl
        assert store.purge_expired() == 3
    assert (rows(tmp_path / "pulse.db", "points"), rows(tmp_path / "pulse.db", "docs")) == (0, 0)


def test_a_registry_insert_and_a_lookup_use_the_digest_index(tmp_path: Path) -> None:
    with SqliteDocumentStore(tmp_path / "pulse.db") as store:
        store.create(C, entry(1))
    with sqlite3.connect(tmp_path / "pulse.db") as conn:
        plan = " ".join(
            str(r) for r in conn.execute("EXPLAIN QUERY PLAN SELECT body FROM points WHERE key IN (?, ?)", (b"a", b"b"))
        )
        size = conn.execute("SELECT length(key) FROM points").fetchone()[0]
    assert "points_by_key" in plan
    assert size == 16


def test_a_version_1_file_moves_its_registry_entries_and_they_still_count(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # the layout of schema version 1, with one registry entry and one view
        conn.executescript(
            """
            CREATE TABLE docs (container TEXT NOT NULL, pk TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
                etag TEXT NOT NULL, lsn INTEGER NOT NULL, ts INTEGER NOT NULL, expires_at REAL,
                PRIMARY KEY (container, pk, id));
            CREATE INDEX docs_by_lsn ON docs (container, lsn);
            CREATE INDEX docs_by_expiry ON docs (expires_at) WHERE expires_at IS NOT NULL;
            CREATE TABLE feed_clock (container TEXT PRIMARY KEY, lsn INTEGER NOT NULL);
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO meta VALUES ('store_id', 'abcdef0123456789');
            INSERT INTO feed_clock VALUES ('eventids', 1), ('views', 1);
            PRAGMA user_version = 1;
            """
        )
        key = entry(7)["id"]
        conn.execute(
            "INSERT INTO docs VALUES ('eventids', ?, ?, ?, '\"1\"', 1, 1700000000, 4000000000)",
            (key, key, f'{{"id": "{key}", "pk": "{key}", "position": "0:7"}}'),
        )
        conn.execute(
            """INSERT INTO docs VALUES ('views', 's1', 'v1', '{"id": "v1", "pk": "s1"}', '"1"', 1, 1700000000, NULL)"""
        )
    with SqliteDocumentStore(path) as store:
        assert store.store_id == "abcdef0123456789"
        with pytest.raises(Conflict):  # the id is still owned: a copy cannot count again
            store.create(C, entry(7))
        assert store.read(C, key, key)["position"] == "0:7"
        assert store.read("views", "s1", "v1") is not None
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert (rows(path, "points"), rows(path, "docs")) == (1, 0)


def test_a_large_batch_of_creates_conflicts_takes_over_expired_entries_and_numbers_the_rest_in_order(
    tmp_path: Path,
) -> None:
    clock = ManualClock(1_700_000_000.0)
    with SqliteDocumentStore(tmp_path / "pulse.db", clock=clock) as store:
        store.write_many(C, [WriteOp.create(entry(n, ttl=60 if n < 100 else 3_600)) for n in range(0, 600, 2)])
        clock.advance_to(clock() + 61)  # entries 0, 2, ..., 98 expired, not purged
        token = store.change_feed(C, None).continuation
        results = store.write_many(C, [WriteOp.create(entry(n, position=f"1:{n}")) for n in range(1_200)])
        taken = {n for n in range(100, 600, 2)}
        assert [r.outcome for r in results] == ["conflict" if n in taken else "ok" for n in range(1_200)]
        fed = store.change_feed(C, token, max_items=2_000).docs
        assert [d["position"] for d in fed] == [f"1:{n}" for n in range(1_200) if n not in taken]
        assert [d["_lsn"] for d in fed] == list(range(fed[0]["_lsn"], fed[0]["_lsn"] + len(fed)))
        ok = [r.doc for r in results if r.ok]
        assert [d["_etag"] for d in ok if d] == [d["_etag"] for d in fed]
        assert store.read(C, entry(2)["id"], entry(2)["id"])["position"] == "1:2"  # taken over
        assert store.read(C, entry(102)["id"], entry(102)["id"])["position"] == "0:102"  # still the first
    assert rows(tmp_path / "pulse.db", "points") == 1_200
