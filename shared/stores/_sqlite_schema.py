"""The SQLite file layout of the embedded store and how a connection is opened.

One table holds every container's documents. ``lsn`` is the per-container change
counter: each write stamps the document with the next value, so the change feed is
``WHERE lsn > ? ORDER BY lsn`` and an updated document moves to the end of the feed
(Cosmos latest-version semantics). ``feed_clock`` remembers the last value handed
out, so numbers are never reused, even after deletes and purges.
"""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

__all__ = ["SCHEMA_VERSION", "ensure_schema", "open_connection"]

SCHEMA_VERSION = 1

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
    PRIMARY KEY (container, pk, id)
);
CREATE INDEX IF NOT EXISTS docs_by_lsn ON docs (container, lsn);
CREATE INDEX IF NOT EXISTS docs_by_expiry ON docs (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS feed_clock (container TEXT PRIMARY KEY, lsn INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


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


def ensure_schema(conn: sqlite3.Connection) -> str:
    """Create the tables if missing and return the file's store id.

    The store id is minted once per file, so a continuation token from another (or a
    re-created) file is rejected instead of silently skipping changes.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise RuntimeError(f"store file has schema version {version}, this code knows {SCHEMA_VERSION}")
        for statement in _DDL.split(";"):
            if statement.strip():
                conn.execute(statement)
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
