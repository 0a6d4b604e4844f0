"""The embedded store's field index (`shared.stores._sqlite_fields`): an index range that returns what a scan does."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.stores import SqliteDocumentStore, WriteOp
from shared.stores._sqlite_fields import SEP, index_clause
from shared.stores._sqlite_ops import query_sql
from shared.stores._sqlite_schema import SCHEMA_VERSION

R = "rollups"
_MISSING = object()

# Values a field may hold: strings that sort around each other (and hold the separator), and what is not a string.
_TEXT = st.sampled_from(
    ["", "a", "ab", "b", f"a{SEP}b", "store", "minute", "2026-11-26T10:00:00Z", "2026-11-26T10:01:00Z"]
)
_VALUE = st.one_of(_TEXT, _TEXT, _TEXT, st.integers(-2, 2), st.none(), st.just(["a"]), st.just(_MISSING))
_BOUND = st.one_of(st.none(), _TEXT)


def doc(n: int, scope: Any, grain: Any, window: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": f"d{n}", "pk": f"p{n % 3}", "n": n}
    for name, value in (("scope", scope), ("grain", grain), ("window", window)):
        if value is not _MISSING:
            body[name] = value
    return body


def scanned(path: Path, where: dict[str, Any], where_range: dict[str, Any]) -> list[str]:
    """What the same filters return by ``json_extract`` over every document (the index not used)."""
    sql, params = query_sql(R, time.time(), None, where, where_range, None, None, None)
    with sqlite3.connect(path) as conn:
        return sorted(str(json.loads(body)["id"]) for body, _, _ in conn.execute(sql, params))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    writes=st.lists(st.tuples(st.integers(0, 7), _VALUE, _VALUE, _VALUE), min_size=1, max_size=25),
    queries=st.lists(
        st.tuples(
            _TEXT, _TEXT, st.one_of(st.tuples(st.just("eq"), _TEXT), st.tuples(st.just("range"), _BOUND, _BOUND))
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_an_indexed_query_returns_what_a_scan_returns_through_updates_that_change_the_fields(
    tmp_path_factory: Any, writes: list[tuple[int, Any, Any, Any]], queries: list[tuple[str, str, tuple[Any, ...]]]
) -> None:
    path = tmp_path_factory.mktemp("ix") / "pulse.db"
    with SqliteDocumentStore(path) as store:
        for i, (n, scope, grain, window) in enumerate(writes):  # ids repeat: later writes change a document's fields
            body = doc(n, scope, grain, window)
            current = store.read(R, body["pk"], body["id"])
            if current is None:
                store.write_many(R, [WriteOp.create(body)])
            elif i % 2:
                store.replace(R, body, current["_etag"])
            else:
                store.upsert(R, body)
        for scope, grain, last in queries:
            where: dict[str, Any] = {"scope": scope, "grain": grain}
            where_range: dict[str, Any] = {}
            if last[0] == "eq":
                where["window"] = last[1]
            else:
                where_range["window"] = (last[1], last[2])
            found = sorted(str(d["id"]) for d in store.query(R, where=where, where_range=where_range))
            assert found == scanned(path, where, where_range), (where, where_range)


def test_the_alert_rules_window_read_is_an_index_range(tmp_path: Path) -> None:
    with SqliteDocumentStore(tmp_path / "pulse.db"):
        pass
    where, where_range = (
        {"scope": "store", "grain": "minute"},
        {"window": ("2026-11-26T10:00:00Z", "2026-11-26T11:00:00Z")},
    )
    narrowed = index_clause(R, where, where_range)
    sql, params = query_sql(
        R, time.time(), None, where, where_range, None, None, ("window", "key", "segments"), narrowed
    )
    with sqlite3.connect(tmp_path / "pulse.db") as conn:
        plan = " ".join(str(row) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        flows = ({"view": "flow"}, {"window": ("2026-11-26T10:00:00Z", None)})
        flows_sql, flows_params = query_sql(
            "views", time.time(), "flow|txn|2026-11-26", *flows, None, None, None, index_clause("views", *flows)
        )
        flows_plan = " ".join(str(row) for row in conn.execute(f"EXPLAIN QUERY PLAN {flows_sql}", flows_params))
    assert "docs_by_fields (container=? AND ix>? AND ix<?)" in plan
    assert "docs_by_fields" in flows_plan


def test_a_document_outside_the_index_is_still_found_and_turns_the_index_off_for_its_container(tmp_path: Path) -> None:
    with SqliteDocumentStore(tmp_path / "pulse.db") as store:
        store.upsert(R, doc(1, "store", "minute", "2026-11-26T10:00:00Z"))
        store.upsert(R, doc(2, "store", "minute", "2026-11-26T12:00:00Z"))
        query = {
            "where": {"scope": "store", "grain": "minute"},
            "where_range": {"window": (None, "2026-11-26T11:00:00Z")},
        }
        assert [d["id"] for d in store.query(R, **query)] == ["d1"]
        store.upsert(R, doc(3, "store", "minute", 5))  # a number sorts before any text: below the bound, it matches
        assert sorted(d["id"] for d in store.query(R, **query)) == ["d1", "d3"]
        store.upsert(R, doc(3, "store", "minute", "2026-11-26T10:30:00Z"))  # back in the order
        assert sorted(d["id"] for d in store.query(R, **query)) == ["d1", "d3"]
        store.upsert(R, doc(3, "store", "minute", "2026-11-26T13:00:00Z"))  # moved out of the range
        assert [d["id"] for d in store.query(R, **query)] == ["d1"]


def test_an_update_that_keeps_the_fields_does_not_rewrite_the_index_entry(tmp_path: Path) -> None:
    path = tmp_path / "pulse.db"

    def frames_written(body: dict[str, Any]) -> int:
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store.upsert(R, body)
        return (path.with_name("pulse.db-wal").stat().st_size - 32) // (4096 + 24)

    with SqliteDocumentStore(path) as store:
        store.upsert(R, doc(1, "store", "minute", "2026-11-26T10:00:00Z"))
        same = frames_written({**doc(1, "store", "minute", "2026-11-26T10:00:00Z"), "n": 2})
        moved = frames_written({**doc(1, "store", "minute", "2026-11-26T11:00:00Z"), "n": 3})
        assert [
            d["n"]
            for d in store.query(R, where={"scope": "store", "grain": "minute", "window": "2026-11-26T11:00:00Z"})
        ] == [3]
    assert same == moved - 1  # the index's page: written only when the fields change


def test_a_version_2_file_gets_its_field_index_filled_in(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # the docs table of schema version 2 (no ix), with two rollups and a view
        conn.executescript(
            """
            CREATE TABLE docs (container TEXT NOT NULL, pk TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
                etag TEXT NOT NULL, lsn INTEGER NOT NULL, ts INTEGER NOT NULL, expires_at REAL,
                PRIMARY KEY (container, pk, id));
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO meta VALUES ('store_id', 'abcdef0123456789');
            PRAGMA user_version = 2;
            INSERT INTO docs VALUES ('rollups', 'p', 'a', '{"id":"a","pk":"p","scope":"store","grain":"minute",
                "window":"2026-11-26T10:00:00Z"}', '"1"', 1, 1700000000, NULL);
            INSERT INTO docs VALUES ('rollups', 'p', 'b', '{"id":"b","pk":"p","scope":"store","grain":"minute",
                "window":"2026-11-26T12:00:00Z"}', '"2"', 2, 1700000000, NULL);
            INSERT INTO docs VALUES ('views', 'f', 'c', '{"id":"c","pk":"f","view":"flow",
                "window":"2026-11-26T10:00:00Z"}', '"1"', 1, 1700000000, NULL);
            """
        )
    with SqliteDocumentStore(path) as store:
        assert store.store_id == "abcdef0123456789"
        window = {"window": ("2026-11-26T09:00:00Z", "2026-11-26T11:00:00Z")}
        assert [d["id"] for d in store.query(R, where={"scope": "store", "grain": "minute"}, where_range=window)] == [
            "a"
        ]
        assert [d["id"] for d in store.query("views", pk="f", where={"view": "flow"}, where_range=window)] == ["c"]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        filled = conn.execute("SELECT count(*) FROM docs WHERE ix IS NOT NULL").fetchone()[0]
    assert filled == 3


def test_a_version_2_file_of_many_documents_is_filled_in_a_thousand_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE docs (container TEXT NOT NULL, pk TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
                etag TEXT NOT NULL, lsn INTEGER NOT NULL, ts INTEGER NOT NULL, expires_at REAL,
                PRIMARY KEY (container, pk, id));
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            PRAGMA user_version = 2;
            """
        )
        conn.executemany(
            "INSERT INTO docs VALUES (?, 'p', ?, ?, '\"1\"', 1, 1700000000, NULL)",
            [
                (container, f"d{n}", json.dumps(doc(n, "store", "minute", f"2026-11-26T10:{n % 60:02d}:00Z")))
                for n in range(2_500)
                for container in ("rollups", "audit")
            ],
        )
    with SqliteDocumentStore(path) as store:
        found = store.query(R, where={"scope": "store", "grain": "minute", "window": "2026-11-26T10:07:00Z"})
    assert len(found) == len([n for n in range(2_500) if n % 60 == 7])
    with sqlite3.connect(path) as conn:
        filled = dict(conn.execute("SELECT container, count(ix) FROM docs GROUP BY container").fetchall())
    assert filled == {"rollups": 2_500, "audit": 0}
