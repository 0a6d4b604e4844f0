"""Per-thread SQLite connections to one file, in WAL mode, with explicit transactions."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = ["ThreadConnections"]


class ThreadConnections:
    """One autocommit connection per thread (SQLite connections must not be shared mid-transaction)."""

    def __init__(self, path: str | os.PathLike[str], ddl: str, busy_timeout_s: float = 30.0) -> None:
        """Open `path` (created if missing) and run `ddl` (``CREATE ... IF NOT EXISTS`` statements)."""
        if str(path) == ":memory:":
            raise ValueError("the local runtime needs a file path (':memory:' is private to one connection)")
        self.path = Path(path)
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        with self.write() as conn:
            for statement in ddl.split(";"):
                if statement.strip():
                    conn.execute(statement)

    def get(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._lock:
                if self._closed:
                    raise RuntimeError(f"{self.path} is closed")
                conn = sqlite3.connect(
                    self.path, timeout=self._busy_timeout_s, isolation_level=None, check_same_thread=False
                )
                self._all.append(conn)
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise RuntimeError(f"SQLite refused WAL mode for {self.path} (got {mode!r})")
            # NORMAL + WAL: consistent after a crash; a power loss may drop the last commits,
            # which at-least-once delivery tolerates (the checkpoint is written after the effect).
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction, committed on success and rolled back on error."""
        conn = self.get()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        """Close every thread's connection; further use raises."""
        with self._lock:
            self._closed = True
            for conn in self._all:
                conn.close()
            self._all.clear()
