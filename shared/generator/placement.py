"""Where a generated stream starts when the user gives no ``--start``: so that it ends by "now".

`pulse generate` then `pulse ingest` with defaults should accept everything but the
injected faults, so the default stream lies in the past, its last event shortly
before the moment of generation. The generator's pace depends on the time of day
(stores close at night) and the weekday, so the span of N events depends on where
they start. The generator is keyed per (seed, hour): the events of an hour are the
same whatever the stream's start. So the start is found by counting backwards in
blocks of whole hours (1 h, 1 h, 2 h, 4 h, ... before now, each block generated
once, nothing written) until N events lie between the block start and now; the start
is the minute of the N-th event counted back from now, checked by one trial run (and
moved earlier by twice any overshoot, which faults can cause). Deterministic for a
given (`now`, arguments).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import takewhile
from typing import Final

from shared.generator.events import GeneratedEvent
from shared.generator.faults import FaultRates
from shared.generator.stream import generate, stream
from shared.reference import ReferenceData

__all__ = ["start_ending_at"]

_MAX_BACK: Final = timedelta(days=6)
"""Counting stops here: older events would be refused as ``too_late`` (7 days) anyway."""
_CHECKS: Final = 4


def start_ending_at(
    now: datetime,
    source: str,
    count: int,
    seed: int,
    faults: FaultRates,
    reference: ReferenceData | None = None,
    scale: float = 1.0,
) -> datetime:
    """A start from which `count` events of `source` all have event times at or before `now`."""
    now = now.astimezone(UTC)
    now_ms = int(now.timestamp() * 1000)
    end, block = now, timedelta(hours=1)
    times: list[int] = []  # event times from the earliest block start up to now, block by block
    while len(times) < count and now - end < _MAX_BACK:
        begin = (end - block).replace(minute=0, second=0, microsecond=0)
        events = stream(source, seed, begin, reference, faults, scale)
        times = [e.event_ms for e in _before(events, int(end.timestamp() * 1000))] + times
        end, block = begin, block * 2 if now - begin >= timedelta(hours=2) else block
    if len(times) < count:
        return end
    start = _minute_of(sorted(times)[len(times) - count])
    for _ in range(_CHECKS):
        last = max((e.event_ms for e in generate(source, count, seed, start, faults, reference, scale)), default=0)
        if last <= now_ms:
            return start
        start = _minute_of(int(start.timestamp() * 1000) - 2 * (last - now_ms)) - timedelta(minutes=1)
    return end


def _before(events: Iterator[GeneratedEvent], end_ms: int) -> Iterator[GeneratedEvent]:
    return takewhile(lambda e: e.delivery_ms < end_ms, events)


def _minute_of(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 60_000 * 60, UTC)
