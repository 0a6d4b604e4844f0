"""The SQLite file layout of the embedded store and how a connection is opened.

``docs`` holds the documents of every container but the point containers. ``lsn`` is the per-container change
counter: each write stamps the document with the next value, so the change feed is
``WHERE lsn > ? ORDER BY lsn`` and an updated document moves to the end of the feed
(Cosmos latest-version semantics). ``feed_clock`` remembers the last value handed
out, so numbers are never reused, even after deletes and purges.

``points`` holds the point containers (`POINT_CONTAINERS`: the event-id registry),
whose documents are created once per event and read by id: the same columns, but
unique on ``key``, a 16-byte digest of (container, pk, id), instead of on the
three texts. An event-id entry's two 37-character keys made a ~90-byte entry in the
primary-key index, inserted at a random place for every event: past a few hundred
thousand events that index outgrew the page cache and each insert read a leaf back
and dirtied a page of its own. The digest index is ~4x smaller (the rows themselves
are appended in rowid order). Schema version 2 moved such rows out of ``docs``.

``ix`` holds a document's values of its container's field index
(`shared.stores._sqlite_fields`), so the alert rules' window reads are an index range
instead of a ``json_extract`` over every document. Schema version 3 added it and filled it in.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from pathlib import Path
from typing import Final

import orjson

from shared.stores._sqlite_fields import FIELD_INDEXES, index_value
from shared.topology import EVENT_IDS_CONTAINER

__all__ = ["POINT_CONTAINERS", "SCHEMA_VERSION", "ensure_schema", "open_connection", "point_key"]

SCHEMA_VERSION = 3
POINT_CONTAINERS: Final = frozenset({EVENT_IDS_CONTAINER})

_DDL = """
CREATE TABLE IF NOT EXISTS docs (
    container  TEXT    NOT NULL,
    pk         TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    body       TEXT    NOT NULL,   -- JSON text without system properties
    etag       TEXT    NOT NULL,
    lsn        INTEGER NOT NULL,
    ts         INTEGER NOT NULL,   -- seconds since the epoch of the last write
    expires_at REAL,               -- NULL: never expires
    ix         TEXT,               -- the field index's values (_sqlite_fields), NULL: none
    PRIMARY KEY (container, pk, id)
);
CREATE INDEX IF NOT EXISTS docs_by_lsn ON docs (container, lsn);
CREATE INDEX IF NOT EXISTS docs_by_expiry ON docs (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS points (
    key        BLOB    NOT NULL,   -- point_key(container, pk, id)
    container  TEXT    NOT NULL,
    pk         TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    etag       TEXT    NOT NULL,
    lsn        INTEGER NOT NULL,
    ts         INTEGER NOT NULL,
    expires_at REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS points_by_key ON points (key);
CREATE INDEX IF NOT EXISTS points_by_lsn ON points (container, lsn);
CREATE INDEX IF NOT EXISTS points_by_expiry ON points (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS feed_clock (container TEXT PRIMARY KEY, lsn INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_FIELD_INDEX_DDL = "CREATE INDEX IF NOT EXISTS docs_by_fields ON docs (container, ix) WHERE ix IS NOT NULL"


def open_connection(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL journal.

    ``synchronous=NORMAL`` with WAL keeps the file consistent after a crash; only the
    last transactions before a power loss may be lost, which the local runtime
    tolerates because it checkpoints its input after the store write.
    """
    conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        conn.close()
        raise RuntimeError(f"SQLite refused WAL mode for {path} (got {mode!r})")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def point_key(container: str, pk: str, id: str) -> bytes:
    """The 16-byte key of a point container's document (BLAKE2b of the three, NUL-separated)."""
    return hashlib.blake2b(f"{container}\0{pk}\0{id}".encode(), digest_size=16).digest()


def ensure_schema(conn: sqlite3.Connection) -> str:
    """Create the tables if missing and return the file's store id.

    The store id is minted once per file, so a continuation token from another (or a
    re-created) file is rejected instead of silently skipping changes.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, 1, 2, SCHEMA_VERSION):  # 1 and 2: migrated below
            raise RuntimeError(f"store file has schema version {version}, this code knows 1 to {SCHEMA_VERSION}")
        for statement in _DDL.split(";"):
            if statement.strip():
                conn.execute(statement)
        if version == 1:
            _move_points(conn)
        if version in (1, 2):
            _fill_field_index(conn)
        conn.execute(_FIELD_INDEX_DDL)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('store_id', ?) ON CONFLICT (key) DO NOTHING",
            (secrets.token_hex(8),),
        )
        store_id = conn.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()[0]
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return str(store_id)


def _move_points(conn: sqlite3.Connection) -> None:
    """Version 1 -> 2: the point containers' rows move from ``docs`` to ``points`` (same values)."""
    marks = ",".join("?" * len(POINT_CONTAINERS))
    names = sorted(POINT_CONTAINERS)
    rows = conn.execute(
        f"SELECT container, pk, id, body, etag, lsn, ts, expires_at FROM docs WHERE container IN ({marks})", names
    )
    conn.executemany(
        "INSERT INTO points (key, container, pk, id, body, etag, lsn, ts, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ((point_key(row[0], row[1], row[2]), *row) for row in rows),
    )
    conn.execute(f"DELETE FROM docs WHERE container IN ({marks})", names)


def _fill_field_index(conn: sqlite3.Connection) -> None:
    """Version 2 -> 3: the ``ix`` column, filled in for the containers with a field index."""
    conn.execute("ALTER TABLE docs ADD COLUMN ix TEXT")
    marks = ",".join("?" * len(FIELD_INDEXES))
    after = -1
    while True:  # a thousand documents at a time: a day of rollups is hundreds of MB of bodies
        rows = conn.execute(
            f"SELECT rowid, container, body FROM docs WHERE rowid > ? AND container IN ({marks}) "
            "ORDER BY rowid LIMIT 1000",
            (after, *sorted(FIELD_INDEXES)),
        ).fetchall()
        if not rows:
            return
        conn.executemany(
            "UPDATE docs SET ix = ? WHERE rowid = ?",
            ((index_value(container, orjson.loads(body)), rowid) for rowid, container, body in rows),
        )
        after = rows[-1][0]
