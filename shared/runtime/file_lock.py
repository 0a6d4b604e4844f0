"""One process at a time on a file: an advisory lock beside it (``<file>.lock``, holding the owner's pid).

Two `pulse demo` runs on one SQLite file would both produce the same stream and
interleave their cursors; the second is refused with a clear message instead. The
lock is `fcntl.flock` on the lock file, so the kernel releases it when the process
dies, however it dies (a stale ``.lock`` file left behind locks nothing).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["FileInUseError", "exclusive_use"]


class FileInUseError(RuntimeError):
    """Another process holds the file; the message names it and its pid when known."""


@contextmanager
def exclusive_use(path: Path, holder: str) -> Iterator[None]:
    """Hold `path` for this process while the block runs; `FileInUseError` when another process holds it."""
    lock_path = path.with_name(path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            raise FileInUseError(
                f"{path} is in use by another {holder} (pid {owner}); stop that one first, or pass another --db"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
