"""The reader process of the freshness and soak benchmarks: a browser's stand-in, importing only the standard library.

It polls ``GET /api/snapshot`` over loopback HTTP every `POLL_S` and records, per
sample (a producer commit's count of sales in one minute of event time), delivery ->
visible. Spawned on its own, it imports this module alone (~20 MiB), not the
runtime that `benchmarks._live` wires.
"""

from __future__ import annotations

import json
import queue
import time
import urllib.request
from datetime import datetime
from typing import Any

__all__ = ["POLL_S", "read_snapshots"]

POLL_S = 0.1


class _Reader:
    """Polls the KPI API; resolves samples (minute, sales sent, sent at) once the series shows that many."""

    def __init__(self, url: str, samples: Any) -> None:
        self._url, self._samples = url + "api/snapshot", samples
        self._pending: list[tuple[int, int, float]] = []
        self._visible: dict[int, int] = {}
        self.latencies: list[tuple[float, bool, float]] = []
        self.started_at = 0.0
        """Wall time of the measured start (`run_live` publishes it), to place each sample in its minute."""

    @property
    def pending(self) -> int:
        return len(self._pending)

    def poll(self) -> None:
        while True:
            try:
                self._pending.append(self._samples.get_nowait())
            except queue.Empty:
                break
        with urllib.request.urlopen(self._url, timeout=30) as response:
            body = json.loads(response.read())
        seen_at = time.time()
        for minute in body["series"]["minutes"]:
            at = int(datetime.fromisoformat(minute["window"].replace("Z", "+00:00")).timestamp() * 1000)
            self._visible[at] = max(self._visible.get(at, 0), int(minute["transactions"]))
        still = []
        for minute_ms, count, sent_at in self._pending:
            if self._visible.get(minute_ms, 0) >= count:
                self.latencies.append((max(0.0, seen_at - sent_at), False, sent_at - self.started_at))
            else:
                still.append((minute_ms, count, sent_at))
        self._pending = still

    def censor(self) -> None:
        """Samples never seen visible count at their age now (a lower bound of their latency)."""
        now = time.time()
        self.latencies += [(now - sent_at, True, sent_at - self.started_at) for _, _, sent_at in self._pending]
        self._pending = []


def read_snapshots(url: str, shared: dict[str, Any]) -> None:
    """The reader process: polls every `POLL_S` until ``stop``, then hands its latencies back on ``results``.

    A process of its own, as a browser would be: parsing each snapshot takes no time
    from the runtime's interpreter. While running it publishes how many samples it
    resolved, how many wait, and their p95 so far (for the progress line).
    """
    reader = _Reader(url, shared["samples"])
    while not shared["stop"].is_set():
        reader.started_at = shared["started_at"].value
        reader.poll()
        done = sorted(seconds for seconds, _, _ in reader.latencies)
        shared["resolved"].value = len(done)
        shared["pending"].value = reader.pending + shared["samples"].qsize()
        shared["p95_ms"].value = int(done[int(0.95 * (len(done) - 1))] * 1000) if done else -1
        time.sleep(POLL_S)
    reader.poll()
    reader.censor()
    shared["results"].put(reader.latencies)
