"""The writer lock of an embedded store, as a one-line usage error when another process holds it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.cli.errors import UsageError
from shared.runtime.db_lock import StoreInUse, WriterLock

__all__ = ["writer_lock"]


@contextmanager
def writer_lock(db: Path) -> Iterator[None]:
    """Hold `db`'s writer lock for the block; `UsageError` ("in use by process N") when it is taken."""
    try:
        lock = WriterLock(db).__enter__()
    except StoreInUse as exc:
        raise UsageError(str(exc)) from None
    try:
        yield
    finally:
        lock.__exit__(None, None, None)
