"""Snapshots for many clients: computed on one worker thread, cached per filter and data version.

Every SSE client and every poll asks for the same few snapshots (one per filter);
each is computed once per change of the data (`ChangeSignal.version`), and at most
every `max_age_s` otherwise, so that "as of now" values (overdue orders, ages) move
on a quiet store too. Under load the data changes all the time, so a filter's
snapshot is computed at most once per `min_age_s`: a request for newer data than the
cached snapshot waits until that one is `min_age_s` old, then gets a new one. At most
``1 / min_age_s`` computations a second per filter, however many clients poll or how
often the data moves, at the cost of up to `min_age_s` of added latency, and never
stale data after a change (an SSE stream that got the cached snapshot would otherwise
wait for the next change; a snapshot reads every store's open orders: at 5,000
events/s, ten a second took a fifth of the interpreter). One worker thread also means
one SQLite connection for all reads, however many request threads come and go.

The health tiles (dead-letter rate over the last hour, lag over the last five minutes,
pipeline-wide, the same for every filter) are read at most every `health_max_age_s`
(2 s) and shared by all filters: they read every flow document of the hour, which was
two thirds of the snapshot thread's time at 5,000 events/s (issue 14), while their
windows move by the minute. The KPI tiles, series and breakdown follow every change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Final

from shared.reference import ReferenceData
from shared.stores.port import DocumentStore
from shared.web.platform_health import PlatformHealth, platform_health
from shared.web.snapshot import snapshot_json

__all__ = ["SnapshotCache"]

_MAX_ENTRIES: Final = 256
Filters = tuple[str | None, str | None]


class SnapshotCache:
    """`get(region, store_id)` -> snapshot JSON; raises `UnknownFilter` like `snapshot`."""

    def __init__(
        self,
        store: DocumentStore,
        clock: Callable[[], datetime],
        version: Callable[[], int],
        *,
        reference: ReferenceData | None = None,
        clock_rate: float = 1.0,
        live_from: datetime | None = None,
        max_age_s: float = 1.0,
        min_age_s: float = 0.25,
        health_max_age_s: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store, self._clock, self._version, self._live_from = store, clock, version, live_from
        self._reference, self._clock_rate, self._max_age_s = reference, clock_rate, max_age_s
        self._min_age_s = min(min_age_s, max_age_s)
        self._health_max_age_s = health_max_age_s
        self._health: tuple[float, PlatformHealth] | None = None
        self.health_reads = 0
        """Times the health tiles' flow documents were read."""
        self._monotonic, self._sleep = monotonic, sleep
        self._entries: dict[Filters, tuple[int, float, bytes]] = {}
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="pulse-web-snapshot")
        self.computed = 0
        """Snapshots computed so far (the rest came from the cache)."""

    def get(self, region: str | None = None, store_id: str | None = None) -> bytes:
        """The snapshot of the data as of this call (cached while no newer data came and it is fresh)."""
        filters = (region or None, store_id or None)
        version = self._version()
        with self._lock:
            entry = self._entries.get(filters)
        if entry is not None:
            if self._current(entry, version):
                return entry[2]
            age = self._monotonic() - entry[1]
            if age < self._min_age_s:  # newer data, but this filter's snapshot is young: wait, then compute once
                self._sleep(self._min_age_s - age)
        return self._worker.submit(self._compute, filters, version).result()

    def _current(self, entry: tuple[int, float, bytes], version: int) -> bool:
        """The entry shows `version` or newer data and is younger than `max_age_s`."""
        return entry[0] >= version and self._monotonic() - entry[1] < self._max_age_s

    def _compute(self, filters: Filters, version: int) -> bytes:
        with self._lock:  # another request may have computed it while this one queued
            entry = self._entries.get(filters)
            if entry is not None and self._current(entry, version):
                return entry[2]
        started, now = self._monotonic(), self._clock()
        body = snapshot_json(
            self._store,
            now,
            *filters,
            reference=self._reference,
            clock_rate=self._clock_rate,
            live_from=self._live_from,
            health=self._platform_health(started, now),
        )
        with self._lock:
            if len(self._entries) >= _MAX_ENTRIES:
                self._entries.clear()
            self._entries[filters] = (version, started, body)
            self.computed += 1
        return body

    def _platform_health(self, started: float, now: datetime) -> PlatformHealth:
        """The health tiles' numbers, read again once they are `health_max_age_s` old (on the worker thread)."""
        if self._health is None or started - self._health[0] >= self._health_max_age_s:
            self._health = (started, platform_health(self._store, now, self._live_from))
            self.health_reads += 1
        return self._health[1]

    def close(self) -> None:
        """Stop the worker (a snapshot in progress finishes)."""
        self._worker.shutdown(wait=True, cancel_futures=True)
