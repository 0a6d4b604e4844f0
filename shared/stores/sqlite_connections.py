"""Per-thread SQLite connections to one file, in WAL mode, with explicit transactions.

Shared by the embedded document store (whose file also holds the local runtime's
checkpoints) and the local log (its own file, so that appends never wait on the store's writer).

Writers queue on a lock file beside the database (``<db>-writer``, `fcntl.flock`) before
``BEGIN IMMEDIATE``: SQLite's own lock stays what makes writes safe, but a connection that
finds it taken polls with sleeps of up to 100 ms (its busy handler), while a process
waiting on the flock is woken the moment the other commits. Two `pulse ingest` hosts on
one file wait ~15 % of their time either way (that is real contention); the lock file
takes out the polling's overshoot, not the wait.

WAL checkpoints: by default SQLite copies the write-ahead log into the database file
inside the ``COMMIT`` that crosses 1,000 pages, so the writer stops for the copy and
its fsyncs (16.5 % of a loaded host's ingest thread in issue 14's profile). Here a
daemon thread runs a ``PASSIVE`` checkpoint at most twice a second after writes: it never waits for readers or writers,
and SQLite releases the GIL while it copies. A commit checkpoints only past
`WRITER_CHECKPOINT_FRAMES`, when little is left to copy. Every connection of a file
must do the same (so there is no option to turn it off): the WAL is the file's, and a
connection left at SQLite's default of 1,000 pages would do the copies inside its own commits.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

from shared.stores._sqlite_schema import open_connection

__all__ = ["WRITER_CHECKPOINT_FRAMES", "ThreadConnections"]

WRITER_CHECKPOINT_FRAMES = 8_192
"""A committing connection still checkpoints once the WAL holds this many frames (pages of 4 KB:
32 MB; SQLite's default is 1,000). By then the background thread has copied almost all of
them, so that checkpoint is short; and it is what lets the WAL start over: a checkpoint
that runs while another connection keeps writing never finds the WAL fully copied, and a
WAL left to the background thread alone grew to gigabytes in minutes under load."""


class ThreadConnections:
    """One autocommit connection per thread (SQLite connections must not be shared mid-transaction)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        ddl: str = "",
        busy_timeout_s: float = 30.0,
    ) -> None:
        """Open `path` (created if missing) and run `ddl` (``CREATE ... IF NOT EXISTS`` statements)."""
        if str(path) == ":memory:":
            raise ValueError("a file path is needed (':memory:' is private to one connection)")
        self.path = Path(path)
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._checkpointer = _Checkpointer(self.path, busy_timeout_s)
        self._gate = _WriterGate(self.path.with_name(self.path.name + "-writer"))
        weakref.finalize(self, self._checkpointer.stopping.set)  # an owner dropped without close() stops it too
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
                # the checkpointer copies; a commit only finishes a long WAL
                conn.execute(f"PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_FRAMES}")
                self._all.append(conn)
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def write(self, lock: threading.Lock | None = None) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction (under `lock`, if given), committed on success, else rolled back."""
        conn = self.get()
        with lock or contextlib.nullcontext(), self._gate:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        self._checkpointer.wrote()

    def close(self) -> None:
        """Close every thread's connection; further use raises."""
        self._checkpointer.stop()
        with self._lock:
            self._closed = True
            self._gate.close()
            for conn in self._all:
                conn.close()
            self._all.clear()


class _WriterGate:
    """An exclusive `flock` on one file, taken around each write transaction (threads of this instance queue
    on a lock of their own first: a `flock` is held by the open file, not by a thread)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None  # opened by the first write: a store only read creates no file
        self._threads = threading.Lock()

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # the interpreter lock is released while it waits
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *_: object) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        with self._threads:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


class _Checkpointer:
    """Runs ``PRAGMA wal_checkpoint(PASSIVE)`` on its own connection, at most every `every_s`, after writes.

    The thread starts with the first write and sleeps while nothing is written, so a
    store that is only read costs nothing.
    """

    def __init__(self, path: Path, busy_timeout_s: float, every_s: float = 0.5, idle_s: float = 1.0) -> None:
        self._path, self._busy_timeout_s, self._every_s, self._idle_s = path, busy_timeout_s, every_s, idle_s
        self._written = threading.Event()
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.checkpoints = 0

    def wrote(self) -> None:
        """A transaction committed: checkpoint soon."""
        self._written.set()
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self.stopping.is_set():
                    self._thread = threading.Thread(
                        target=self._run, name=f"sqlite-checkpoint-{self._path.name}", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not self.stopping.is_set():
                if not self._written.wait(self._idle_s):
                    continue
                if self.stopping.wait(self._every_s):  # let writes gather: one copy for many commits
                    break
                self._written.clear()
                try:
                    conn = conn or open_connection(self._path, self._busy_timeout_s)
                except sqlite3.Error:  # the file went away under a store that was never closed
                    break
                self._checkpoint(conn)
        finally:
            if conn is not None:
                conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:  # PASSIVE never waits and never calls the busy handler; busy now means: next time
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self.checkpoints += 1
        except sqlite3.OperationalError:
            self._written.set()

    def stop(self) -> None:
        """Stop the thread at once, even in its wait for a write (closing the file's last connection
        checkpoints what is left)."""
        with self._lock:
            self.stopping.set()
            self._written.set()  # wake the thread now, not at the end of its wait for a write
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
