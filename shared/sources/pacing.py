"""Send a generated stream at a target rate for a duration, never ahead of the wall clock.

The generator's events carry the time a producer would send them (`delivery_ms`).
Replaying a stream that starts in the past at a high rate catches up with the
present; from then on an event is held until its delivery time has come, so no
event is ever sent with an event time in the future (the pipeline would refuse it).
Clock, wall clock and sleep are injected, so the loop is tested without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from shared.generator import GeneratedEvent

__all__ = ["EventSink", "PaceReport", "send_paced"]


class EventSink(Protocol):
    """Where paced events go (`EventHubProducers`)."""

    def add(self, source: str, partition_key: str, body: bytes) -> bool: ...

    def flush(self) -> None: ...


@dataclass(frozen=True, slots=True)
class PaceReport:
    """What one paced run did."""

    handed_over: int
    """Events given to the sink (sent, or counted by it as too large)."""
    elapsed_s: float
    held_s: float
    """Time spent waiting for live events to become due (the stream had caught up with now)."""
    exhausted: bool
    """The stream ended before the duration did."""


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def send_paced(
    events: Iterator[GeneratedEvent],
    sink: EventSink,
    rate: float,
    duration_s: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    wall_ms: Callable[[], int] = _wall_ms,
    sleep: Callable[[float], None] = time.sleep,
    flush_interval_s: float = 1.0,
    on_tick: Callable[[int, float], None] | None = None,
) -> PaceReport:
    """Hand events to `sink` at `rate` per second for `duration_s`, flushing every `flush_interval_s`.

    `on_tick(handed_over, elapsed_s)` is called after each periodic flush (the progress line).
    """
    if rate <= 0 or duration_s <= 0 or flush_interval_s <= 0:
        raise ValueError("rate, duration_s and flush_interval_s must be positive")
    start = clock()
    end = start + duration_s
    next_flush = start + flush_interval_s
    handed = 0
    held = 0.0
    pending: GeneratedEvent | None = None
    exhausted = False
    while (now := clock()) < end:
        live_wait_s = 0.0
        while start + handed / rate <= now:  # event number `handed` is due at start + handed / rate
            if pending is None:
                pending = next(events, None)
                if pending is None:
                    exhausted = True
                    break
            ahead_ms = pending.delivery_ms - wall_ms()
            if ahead_ms > 0:
                live_wait_s = ahead_ms / 1000
                break
            sink.add(pending.source, pending.partition_key, pending.body)
            handed += 1
            pending = None
        if exhausted:
            break
        if clock() >= next_flush:
            sink.flush()
            while next_flush <= clock():
                next_flush += flush_interval_s
            if on_tick is not None:
                on_tick(handed, clock() - start)
        wake = start + handed / rate
        if live_wait_s:
            wake = max(wake, clock() + live_wait_s)
        pause = min(wake, next_flush, end) - clock()
        if pause > 0:
            if live_wait_s:
                held += pause
            sleep(pause)
    sink.flush()
    return PaceReport(handed, clock() - start, held, exhausted)
