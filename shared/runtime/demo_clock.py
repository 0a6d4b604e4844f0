"""Where `pulse demo` keeps its simulated clock in its SQLite file, for readers of that file.

The demo saves a cursor document every second (`shared.cli.demo`): its ``clock_ms``
is the simulated time then (``through_ms``, up to which everything was sent, in files
of older versions). `pulse kpis` reads it as its
default "now", so the backlog it prints is the backlog the page shows (the demo's
clock runs behind the wall clock after a restart, or with ``--start`` / ``--speed``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from shared.engine.progress import AUDIT_CONTAINER
from shared.stores.port import DocumentStore

__all__ = ["CURSOR_ID", "read_demo_clock"]

CURSOR_ID: Final = "demo|cursor"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def read_demo_clock(store: DocumentStore) -> datetime | None:
    """The demo's simulated time when it last saved (None: not a demo file)."""
    cursor = store.read(AUDIT_CONTAINER, CURSOR_ID, CURSOR_ID)
    if cursor is None or "through_ms" not in cursor:
        return None
    clock_ms = int(cursor["clock_ms"] if "clock_ms" in cursor else cursor["through_ms"])
    return _EPOCH + timedelta(milliseconds=clock_ms)
