"""Per-thread SQLite connections to one file, in WAL mode, with explicit transactions.

Shared by the embedded document store (whose file also holds the local runtime's
checkpoints) and the local log (its own file, so that appends never wait on the store's writer).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from shared.stores._sqlite_schema import open_connection

__all__ = ["ThreadConnections"]


class ThreadConnections:
    """One autocommit connection per thread (SQLite connections must not be shared mid-transaction)."""

    def __init__(self, path: str | os.PathLike[str], ddl: str = "", busy_timeout_s: float = 30.0) -> None:
        """Open `path` (created if missing) and run `ddl` (``CREATE ... IF NOT EXISTS`` statements)."""
        if str(path) == ":memory:":
            raise ValueError("a file path is needed (':memory:' is private to one connection)")
        self.path = Path(path)
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        if ddl.strip():
            with self.write() as conn:
                for statement in ddl.split(";"):
                    if statement.strip():
                        conn.execute(statement)

    @property
    def closed(self) -> bool:
        return self._closed

    def get(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._lock:
                if self._closed:
                    raise RuntimeError(f"{self.path} is closed")
                conn = open_connection(self.path, self._busy_timeout_s)
                self._all.append(conn)
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def write(self, lock: threading.Lock | None = None) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction (under `lock`, if given), committed on success, else rolled back."""
        conn = self.get()
        with lock or contextlib.nullcontext():
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
