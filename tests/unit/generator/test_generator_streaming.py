"""The streamed generator sends exactly what the former hour-at-a-time one did, in bounded memory.

`_batch` is the former `_run` (before issue 14), kept here verbatim as the reference:
it held each simulated hour in memory as dicts, sorted it, then sent it.
"""

from __future__ import annotations

import heapq
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from operator import itemgetter

import orjson
import pytest

from shared.generator import _runs, stream
from shared.generator._sampling import Item
from shared.generator._time import HOUR_MS, to_ms
from shared.generator.events import GeneratedEvent
from shared.generator.orders import BACKLOG_HOURS, FulfillmentSource, Order, OrderBook
from shared.generator.stream import _run, _simulations, demo_reference
from shared.generator.world import World

START = datetime(2026, 11, 26, 7, 20, tzinfo=UTC)  # mid-hour: the first hour is cut at the start
_delivery = itemgetter(0)


def _batch(simulations: list, start_ms: int) -> Iterator[GeneratedEvent]:  # type: ignore[type-arg]
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
            items = list(simulation.hour(hour))
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
        ready.sort(key=_delivery)
        for delivery, event_ms, name, key, body in ready:
            yield GeneratedEvent(name, key, dumps(body), event_ms, delivery)
        hour = end


def _events(runner, scale: float, seed: int = 5) -> Iterator[GeneratedEvent]:  # type: ignore[no-untyped-def]
    start_ms = to_ms(START)
    world = World(demo_reference(), seed, scale, start_ms)
    return runner(_simulations(world, "all"), start_ms)  # type: ignore[no-any-return]


def _hours(events: Iterator[GeneratedEvent], hours: int) -> list[GeneratedEvent]:
    """The events delivered before START's hour + `hours`."""
    end = to_ms(START) - to_ms(START) % HOUR_MS + hours * HOUR_MS
    out = []
    for event in events:
        if event.delivery_ms >= end:
            return out
        out.append(event)
    raise AssertionError("the stream ended")


@pytest.mark.parametrize("run_size", [_runs.RUN_SIZE, 997])
def test_the_stream_equals_the_former_batch_output_event_for_event(
    run_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_runs, "RUN_SIZE", run_size)
    monkeypatch.setattr(_runs.SortedRuns.__init__, "__defaults__", (run_size,))
    monkeypatch.setattr(_runs.LaterRuns.__init__, "__defaults__", (run_size // 2,))  # future statuses spill too
    streamed = _hours(_events(_run, 1.5), 4)  # across the morning ramp and three hour boundaries
    batch = _hours(_events(_batch, 1.5), 4)
    assert len(streamed) > 20_000 and {e.source for e in streamed} == {
        "txn", "traffic", "fulfillment", "ingest", "ops", "gov", "cost",
    }  # fmt: skip
    assert streamed == batch  # same events, same bytes, same order, ties included


def test_spilled_runs_merge_in_generation_order_on_ties() -> None:
    runs = _runs.SortedRuns(run_size=3)
    records = [(t, t, "txn", f"S{i}", f"{i}".encode()) for i, t in enumerate([5, 1, 5, 1, 5, 1, 0, 9])]
    for record in records:
        runs.add(record)
    assert runs.spilled == 2 and runs.count == 8
    merged = list(heapq.merge(*runs.runs(), key=_runs.delivery_of))
    assert merged == sorted(records, key=_runs.delivery_of)  # sorted() is stable: generation order on ties
    runs.close()


def test_later_hours_come_back_in_delivery_order_ties_in_the_order_added() -> None:
    later = _runs.LaterRuns(hour_ms=10, budget=4)
    records = [(t, t, "fulfillment", "S", f"{i}".encode()) for i, t in enumerate([25, 12, 15, 12, 31, 19, 12, 15, 3])]
    for record in records:
        later.add(record)
    for hour in (0, 10, 20, 30):
        runs = later.take(hour)
        assert runs is not None
        expected = sorted((r for r in records if hour <= r[0] < hour + 10), key=_runs.delivery_of)
        assert list(heapq.merge(*runs.runs(), key=_runs.delivery_of)) == expected
        runs.close()
    assert later.take(40) is None
    later.close()


def _peak_mib(events: Iterator[GeneratedEvent], count: int) -> float:
    tracemalloc.start()
    try:
        for _ in islice(events, count):
            pass
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_memory_stays_bounded_while_the_hour_grows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of 2,000 and 4,000 later events: the stream holds a few thousand events, the batch form a whole hour."""
    monkeypatch.setattr(_runs.SortedRuns.__init__, "__defaults__", (2_000,))
    monkeypatch.setattr(_runs.LaterRuns.__init__, "__defaults__", (4_000,))
    events = 80_000
    streamed = _peak_mib(iter(stream("all", 5, START, scale=10.0)), events)
    batch = _peak_mib(_events(_batch, 10.0), events)
    assert batch > 60, batch  # the reference really holds an hour (and the order backlog) as dicts
    assert streamed < batch / 3, (streamed, batch)


def test_each_hour_of_orders_is_drawn_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The order book keeps one hour: the backlog's hours, then `txn` and `fulfillment` of each hour, in turn."""
    drawn: list[int] = []
    draw = OrderBook._draw

    def counting(self: OrderBook, hour_ms: int) -> list[Order]:
        drawn.append(hour_ms)
        return draw(self, hour_ms)

    monkeypatch.setattr(OrderBook, "_draw", counting)
    events = _hours(iter(stream("all", 5, START, scale=1.0)), 3)
    first = to_ms(START) - to_ms(START) % HOUR_MS
    assert any(e.source == "fulfillment" and b'"status":"placed"' in e.body for e in events)  # the hours' orders
    assert sorted(set(drawn)) == drawn  # hour after hour, never back
    assert drawn == [first + h * HOUR_MS for h in range(-BACKLOG_HOURS, 4)]  # each once; the 4th drawn ahead
