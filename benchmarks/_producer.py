"""The open-loop producer of the freshness and soak benchmarks, run in its own process.

It sends the demo's stream (`shared.cli._demo_stream.demo_events`: all seven sources, the
product's generator) at a fixed rate whatever the pipeline does: every tick it
appends as many events as the wall clock says are due, one transaction per run
of one source, exactly as `DemoProducer` does, with the event's simulated
delivery time as its enqueued time. After each append it publishes:

- the simulated clock (newest delivery time sent), which the pipeline and the
  page read as `now`, as `pulse demo`'s clock would be at the matching speed;
- a sample per minute of event time touched: (minute, sales of that minute sent
  so far, wall time of the commit). The reader counts the sample visible once the
  KPI API's series shows at least that many transactions in that minute.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.cli._demo_stream import demo_events
from shared.generator import FaultRates, GeneratedEvent
from shared.runtime.local_log import LocalLog

__all__ = ["ProducerPlan", "produce"]

_TICK_S = 0.02
_MAX_BATCH = 2_000
"""Events per commit at most: a producer behind its schedule still commits (and samples) often."""
_SALE = b'"txn_type":"sale"'
_MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class ProducerPlan:
    """What to send: `rate` events/s for `duration_s` of the stream (seed, scale) from `start`."""

    log_path: Path
    partitions: int
    rate: float
    duration_s: float
    seed: int
    scale: float
    start: datetime


def produce(plan: ProducerPlan, shared: dict[str, Any]) -> None:
    """The process body; `shared` holds multiprocessing objects: clock_ms, sent, samples, ready, go, stop."""
    log = LocalLog(plan.log_path, plan.partitions)
    events = demo_events(plan.seed, plan.scale, FaultRates(), plan.start.astimezone(UTC), None)
    first = next(events)  # draws the first hour (and the order backlog): warm-up, not measured
    shared["clock_ms"].value = first.delivery_ms
    shared["ready"].set()
    shared["go"].wait()
    queue: list[GeneratedEvent] = [first]
    sales: Counter[int] = Counter()
    started = time.monotonic()
    sent = 0
    try:
        while not shared["stop"].is_set():
            elapsed = time.monotonic() - started
            if elapsed >= plan.duration_s:
                break
            due = min(int(plan.rate * elapsed) - sent, _MAX_BATCH)  # behind: catch up in bounded commits
            if due > 0:
                while len(queue) < due:
                    queue.append(next(events))
                batch, queue = queue[:due], queue[due:]
                _append(log, batch)
                committed = time.time()
                sent += len(batch)
                shared["clock_ms"].value = max(shared["clock_ms"].value, batch[-1].delivery_ms)
                shared["sent"].value = sent
                touched: set[int] = set()
                for event in batch:
                    if event.source == "txn" and _SALE in event.body:
                        minute = event.event_ms - event.event_ms % _MINUTE_MS
                        sales[minute] += 1
                        touched.add(minute)
                for minute in sorted(touched):
                    shared["samples"].put((minute, sales[minute], committed))
            time.sleep(max(0.0, _TICK_S - (time.monotonic() - started - elapsed)))
    finally:
        log.close()
        if "cpu_s" in shared:  # its own CPU seconds, for the run's table (it ends before the runtime's last sample)
            shared["cpu_s"].value = time.process_time()


def _append(log: LocalLog, batch: list[GeneratedEvent]) -> None:
    """Runs of one source, one transaction each (what `DemoProducer.send_until` does)."""
    start = 0
    for end in range(1, len(batch) + 1):
        if end == len(batch) or batch[end].source != batch[start].source:
            run = batch[start:end]
            log.append_many(run[0].source, [(e.partition_key, e.body, e.delivery_time) for e in run])
            start = end
