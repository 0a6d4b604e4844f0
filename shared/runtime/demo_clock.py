"""`pulse demo`'s simulated clock, shared with its host process, and where it keeps it in its SQLite file.

The demo saves a cursor document every second (`shared.cli.demo`): its ``clock_ms``
is the simulated time then (``through_ms``, up to which everything was sent, in files
of older versions). `pulse kpis` reads it as its
default "now", so the backlog it prints is the backlog the page shows (the demo's
clock runs behind the wall clock after a restart, or with ``--start`` / ``--speed``).
"""

from __future__ import annotations

import math
import multiprocessing
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from shared.engine.progress import AUDIT_CONTAINER
from shared.stores.port import DocumentStore

__all__ = ["CURSOR_ID", "SimulatedClock", "read_demo_clock"]

CURSOR_ID: Final = "demo|cursor"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def read_demo_clock(store: DocumentStore) -> datetime | None:
    """The demo's simulated time when it last saved (None: not a demo file)."""
    cursor = store.read(AUDIT_CONTAINER, CURSOR_ID, CURSOR_ID)
    if cursor is None or "through_ms" not in cursor:
        return None
    clock_ms = int(cursor["clock_ms"] if "clock_ms" in cursor else cursor["through_ms"])
    return _EPOCH + timedelta(milliseconds=clock_ms)


class SimulatedClock:
    """``start + (wall - wall0) * speed``; the producer, the host and the page all read it.

    A held clock stands at `start` until `run` (the fast-forward of a new file: the day so
    far is sent while the clock waits, so the demo goes live at its ``--start``, and an
    incident scheduled minutes after it happens live, not inside the fast-forward).

    ``wall0`` is a shared value (`multiprocessing`), so the clock can be handed to the
    host's process when it is spawned (`shared.runtime.host_process`) and `run` in
    this process moves it there too: ``time.monotonic`` is the machine's, the same in both.
    """

    def __init__(
        self, start: datetime, speed: float, monotonic: Callable[[], float] = time.monotonic, *, held: bool = False
    ) -> None:
        self._start, self._speed, self._monotonic = start, speed, monotonic
        self._wall0 = multiprocessing.get_context("spawn").RawValue("d", math.nan if held else monotonic())

    def run(self) -> None:
        """Let a held clock go from `start` (no effect on a running one)."""
        if math.isnan(self._wall0.value):
            self._wall0.value = self._monotonic()

    def __call__(self) -> datetime:
        wall0 = self._wall0.value
        if math.isnan(wall0):
            return self._start
        return self._start + timedelta(seconds=(self._monotonic() - wall0) * self._speed)
