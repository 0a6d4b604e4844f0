"""The generator's entry points: an endless stream and a counted batch of events."""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import cache
from itertools import islice
from operator import itemgetter
from typing import Final, Protocol

import orjson

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


_delivery: Final = itemgetter(0)


class _Simulation(Protocol):
    name: str

    def hour(self, hour_ms: int) -> list[Item]: ...


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


def _run(simulations: list[_Simulation], start_ms: int) -> Iterator[GeneratedEvent]:
    """Hour by hour: each simulation's events of the hour, merged in delivery order.

    Events due after the hour (door counts at the minute's end, cost records,
    future order statuses) wait in a heap; nothing generated later can be due
    earlier, because delivery never precedes event time.
    """
    pending: list[tuple[int, int, Item]] = []
    sequence = 0
    for simulation in simulations:
        if isinstance(simulation, FulfillmentSource):
            for item in simulation.backlog(start_ms):
                heapq.heappush(pending, (item[0], sequence, item))
                sequence += 1
    dumps = orjson.dumps
    hour = start_ms - start_ms % HOUR_MS
    while True:
        end = hour + HOUR_MS
        ready: list[Item] = []
        for simulation in simulations:
            items = simulation.hour(hour)
            if hour < start_ms:
                items = [item for item in items if item[1] >= start_ms]
            for item in items:
                if item[0] < end:
                    ready.append(item)
                else:
                    heapq.heappush(pending, (item[0], sequence, item))
                    sequence += 1
        while pending and pending[0][0] < end:
            ready.append(heapq.heappop(pending)[2])
        ready.sort(key=_delivery)  # stable: ties keep generation order, so output is deterministic
        for delivery, event_ms, name, key, body in ready:
            yield GeneratedEvent(name, key, dumps(body), event_ms, delivery)
        hour = end


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
