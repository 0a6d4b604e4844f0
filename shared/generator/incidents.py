"""Incidents: faults that make the alert rules fire on purpose, on a schedule from the stream's origin.

- ``till_outage=M``: the tills of one region (the first in the reference data,
  ``DE_NORTH`` in the demo chain) send no transaction for M minutes, from 10 minutes
  after the origin: the ``till-silent`` heartbeat fires, one message for the region;
- ``stalled_partition=M``: the events of one local-log partition (the stores whose
  ``crc32(store id) % partitions`` is 0) are held back for M minutes, from 20 minutes
  after the origin, then delivered at once: the catch-up is late, the freshness
  budget burns and the burn-rate alerts page;
- ``dead_letter_burst=M``: for M minutes, from 5 minutes after the origin, 30 % of the
  transactions arrive as broken JSON: the dead-letter rate threshold and the
  completeness burn rate fire, and resolve after it.

`pulse demo --faults incidents` turns on all three (45, 15 and 10 minutes).
"""

from __future__ import annotations

import heapq
import math
import random
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Final

from shared.generator.events import GeneratedEvent

__all__ = ["INCIDENT_NAMES", "PRESET", "Incidents", "apply_incidents", "split_incidents"]

INCIDENT_NAMES: Final = ("till_outage", "stalled_partition", "dead_letter_burst")
PRESET: Final = "incidents"
_MIN_MS: Final = 60_000
_STARTS_MIN: Final = {"till_outage": 10, "stalled_partition": 20, "dead_letter_burst": 5}
_BURST_SHARE: Final = 0.3


@dataclass(frozen=True, slots=True)
class Incidents:
    """Duration in minutes of each incident (0: off)."""

    till_outage: float = 0.0
    stalled_partition: float = 0.0
    dead_letter_burst: float = 0.0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not (math.isfinite(value) and 0 <= value <= 24 * 60):
                raise ValueError(f"incident {field.name}={value!r} must be 0 to 1440 minutes")

    def any(self) -> bool:
        return any(getattr(self, name) for name in INCIDENT_NAMES)

    def window_ms(self, name: str, origin_ms: int) -> tuple[int, int]:
        """[start, end) of incident `name` in epoch milliseconds."""
        start = origin_ms + _STARTS_MIN[name] * _MIN_MS
        return start, start + int(getattr(self, name) * _MIN_MS)


def split_incidents(text: str | None) -> tuple[str | None, Incidents]:
    """Take the incident names (and the ``incidents`` preset) out of a ``--faults`` value.

    Returns the rest (for `parse_faults`) and the incidents; ValueError on a bad value.
    """
    if not text:
        return text, Incidents()
    rest: list[str] = []
    found: dict[str, float] = {}
    for part in text.split(","):
        name, _, value = part.strip().partition("=")
        if name == PRESET:
            found.update(till_outage=45.0, stalled_partition=15.0, dead_letter_burst=10.0)
        elif name in INCIDENT_NAMES:
            try:
                found[name] = float(value)
            except ValueError:
                raise ValueError(f"incident {name}={value!r} needs a duration in minutes, e.g. {name}=30") from None
        elif part.strip():
            rest.append(part.strip())
    return ",".join(rest), Incidents(**found)


def apply_incidents(
    events: Iterable[GeneratedEvent],
    incidents: Incidents,
    origin_ms: int,
    outage_stores: frozenset[str],
    partitions: int,
    seed: int = 0,
) -> Iterator[GeneratedEvent]:
    """The stream with the incidents applied, still in delivery order."""
    outage = incidents.window_ms("till_outage", origin_ms)
    stall = incidents.window_ms("stalled_partition", origin_ms)
    burst = incidents.window_ms("dead_letter_burst", origin_ms)
    rng = random.Random(f"{seed}/incidents")
    held: list[tuple[int, int, GeneratedEvent]] = []
    order = 0
    for event in events:
        while held and held[0][0] <= event.delivery_ms:
            yield heapq.heappop(held)[2]
        at = event.delivery_ms
        if event.source == "txn" and outage[0] <= at < outage[1] and event.partition_key in outage_stores:
            continue  # the tills are down: nothing is sent, nothing to recover
        if event.source == "txn" and burst[0] <= at < burst[1] and rng.random() < _BURST_SHARE:
            event = event._replace(body=b'{"event_id": "broken', faults=(*event.faults, "malformed:incident"))
        if stall[0] <= at < stall[1] and zlib.crc32(event.partition_key.encode()) % partitions == 0:
            heapq.heappush(held, (stall[1], order, event._replace(delivery_ms=stall[1])))
            order += 1
            continue
        yield event
    while held:
        yield heapq.heappop(held)[2]
