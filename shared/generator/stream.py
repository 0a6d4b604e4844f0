"""The generator's entry points: an endless stream and a counted batch of events."""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from functools import cache
from itertools import chain, islice
from typing import Any, Final, Protocol

import orjson

from shared.generator._runs import LaterRuns, SortedRuns, delivery_of
from shared.generator._sampling import Item
from shared.generator._time import HOUR_MS, to_ms
from shared.generator.events import GeneratedEvent
from shared.generator.faults import FaultRates, inject
from shared.generator.orders import FulfillmentSource, OrderBook
from shared.generator.platform import CostSource, GovernanceSource, IngestSource, OpsSource
from shared.generator.retail import TrafficSource, TxnSource
from shared.generator.world import World
from shared.reference import ReferenceData, demo_reference_dir, load_reference
from shared.topology import SOURCES

__all__ = ["ALL", "GENERATOR_SOURCES", "demo_reference", "generate", "stream"]

ALL: Final = "all"
GENERATOR_SOURCES: Final = (*SOURCES, ALL)
"""What `--source` accepts: one of the seven sources, or `all` for the whole chain."""


_LOOKAHEAD: Final = 1.5
"""The next hour is drawn while the current one is sent, this many times faster than its size suggests."""


class _Simulation(Protocol):
    name: str

    def hour(self, hour_ms: int) -> Iterable[Item]: ...


@cache
def demo_reference() -> ReferenceData:
    """The shipped demo reference set (loaded once per process)."""
    return load_reference(demo_reference_dir())


def _simulations(world: World, source: str) -> list[_Simulation]:
    orders = OrderBook(world)
    every: dict[str, _Simulation] = {
        "txn": TxnSource(world, orders),
        "traffic": TrafficSource(world),
        "fulfillment": FulfillmentSource(world, orders),
        "ingest": IngestSource(world),
        "ops": OpsSource(world),
        "gov": GovernanceSource(world),
        "cost": CostSource(world),
    }
    return list(every.values()) if source == ALL else [every[source]]


def _clean(
    source: str, seed: int, start: datetime, reference: ReferenceData | None, scale: float
) -> Iterator[GeneratedEvent]:
    """The fault-free stream: events with event time >= start, in delivery order."""
    if source not in GENERATOR_SOURCES:
        raise ValueError(f"unknown source {source!r} (one of {', '.join(GENERATOR_SOURCES)})")
    start_ms = to_ms(start)
    world = World(reference or demo_reference(), seed, scale, start_ms)
    world.products(start_ms)  # fail now, not mid-stream, when no product is valid
    simulations = _simulations(world, source)
    return _run(simulations, start_ms)


def _serialised(body: dict[str, Any]) -> bytes:
    """The body's JSON in a bytes object of its own size (orjson's own result reserves ~4 KB; these are held)."""
    return bytes(memoryview(orjson.dumps(body)))


class _Hour:
    """One hour being drawn: events due within it go to sorted runs, later ones to `later`."""

    def __init__(self, simulations: list[_Simulation], hour_ms: int, start_ms: int, later: LaterRuns) -> None:
        self.end = hour_ms + HOUR_MS
        self.runs = SortedRuns()
        self.drawn = 0
        self._items = chain.from_iterable(simulation.hour(hour_ms) for simulation in simulations)
        self._since = start_ms if hour_ms < start_ms else None
        self._later = later

    def draw(self, limit: int | None = None) -> None:
        """Draw up to `limit` more events of the hour (None: all that are left)."""
        end, since, add, later = self.end, self._since, self.runs.add, self._later.add
        for delivery, event_ms, name, key, body in self._items if limit is None else islice(self._items, limit):
            self.drawn += 1
            if since is not None and event_ms < since:
                continue
            record = (delivery, event_ms, name, key, _serialised(body))
            if delivery < end:
                add(record)
            else:
                later(record)


def _run(simulations: list[_Simulation], start_ms: int) -> Iterator[GeneratedEvent]:
    """Hour by hour: each simulation's events of the hour, merged in delivery order, in bounded memory.

    Events due after the hour (door counts at the minute's end, cost records,
    future order statuses) wait for their hour in `LaterRuns`; nothing generated
    later can be due earlier, because delivery never precedes event time. An hour
    is sent as one stable sort by delivery time of its own events (in generation
    order) followed by the earlier hours' events due in it (in generation order);
    the next hour is drawn a little at a time while this one is sent, so there is
    no pause at the hour boundary (see `_runs`).
    """
    later = LaterRuns(HOUR_MS)
    for simulation in simulations:
        if isinstance(simulation, FulfillmentSource):
            for delivery, event_ms, name, key, body in simulation.backlog(start_ms):
                later.add((delivery, event_ms, name, key, _serialised(body)))
    current = _Hour(simulations, start_ms - start_ms % HOUR_MS, start_ms, later)
    upcoming: _Hour | None = None
    due: SortedRuns | None = None
    try:
        current.draw()
        while True:
            upcoming = _Hour(simulations, current.end, start_ms, later)
            due = later.take(current.end - HOUR_MS)
            pace = _LOOKAHEAD * current.drawn / max(1, current.runs.count)
            credit = 0.0
            sources = current.runs.runs() + ([] if due is None else due.runs())
            for delivery, event_ms, name, key, data in heapq.merge(*sources, key=delivery_of):
                yield GeneratedEvent(name, key, data, event_ms, delivery)
                credit += pace
                if credit >= 1.0:
                    upcoming.draw(int(credit))
                    credit -= int(credit)
            upcoming.draw()
            current.runs.close()
            if due is not None:
                due.close()
            current, upcoming, due = upcoming, None, None
    finally:
        for runs in (current.runs, None if upcoming is None else upcoming.runs, due):
            if runs is not None:
                runs.close()
        later.close()


def _rates(faults: FaultRates | Mapping[str, float] | None) -> FaultRates:
    if faults is None:
        return FaultRates()
    return faults if isinstance(faults, FaultRates) else FaultRates(**faults)


def stream(
    source: str,
    seed: int,
    start: datetime,
    reference: ReferenceData | None = None,
    faults: FaultRates | Mapping[str, float] | None = None,
    scale: float = 1.0,
) -> Iterator[GeneratedEvent]:
    """Events of `source` (or `all`) from `start` on, endlessly, in delivery order.

    Deterministic for a given (source, seed, start, reference, faults, scale). The
    demo reference set is used when `reference` is None; `scale` multiplies shopper
    and platform volumes (1.0 is a realistic 60-store chain: ~170k events a day for
    `all`). Without faults, delivery order is event-time order, except that door
    counts are sent when their minute is over and cost records after their hour.
    """
    rates = _rates(faults)
    events = _clean(source, seed, start, reference, scale)
    if not rates.any():
        return events
    return inject(events, rates, random.Random(f"{seed}/faults/{source}"), limit=None)


def generate(
    source: str,
    count: int,
    seed: int,
    start: datetime,
    faults: FaultRates | Mapping[str, float] | None = None,
    reference: ReferenceData | None = None,
    scale: float = 1.0,
) -> Iterator[GeneratedEvent]:
    """Exactly `count` events (lines) of `source` from `start`, faults included.

    Events held back by faults are flushed at the end, so realised fault rates
    match the requested ones whatever the count.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    rates = _rates(faults)
    events = _clean(source, seed, start, reference, scale)
    if not rates.any():
        return islice(events, count)
    return inject(events, rates, random.Random(f"{seed}/faults/{source}"), limit=count)
