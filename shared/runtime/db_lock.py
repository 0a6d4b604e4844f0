"""One writer per embedded store: `pulse ingest` and `pulse dlq replay` hold ``PATH.lock`` while they run.

An advisory `flock` on a file next to the database, holding the owner's process id. The
operating system drops it when the process ends in any way (also `kill -9`), so a crash
never leaves a stale lock behind. A second writer is refused at once, with the owner's id.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = ["StoreInUse", "WriterLock"]


class StoreInUse(Exception):
    """Another process holds the store's writer lock."""

    def __init__(self, db: Path, pid: str) -> None:
        super().__init__(f"{db}: in use by process {pid or '(unknown)'}; wait for it to finish")
        self.pid = pid


class WriterLock:
    """Hold the writer lock of the store `db` (a context manager); `StoreInUse` when taken."""

    def __init__(self, db: Path) -> None:
        self._db = db
        self._path = db.with_name(db.name + ".lock")
        self._fd: int | None = None

    def __enter__(self) -> Self:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise StoreInUse(self._db, owner) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock; the file stays (removing it would race)
            self._fd = None
