"""Delta rows: after late corrections, SUM of pushed deltas per window equals the rollups, to the cent.

The real ingest and rollup handlers build the rollups; the outbox reads their change
feed; the pusher drains into a recording sink. Every minute KPI of every scope is then
recomputed from the pushed rows alone (sums, and ratios as DIVIDE of sums) and
compared with `kpi_rows`, the query behind `pulse kpis`.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from shared.runtime.crash_injection import CrashingStore
from shared.runtime.faults import SimulatedCrash
from shared.sinks.dataset import KPI_DELTA, KPI_SNAPSHOT
from shared.sinks.outbox import Outbox
from shared.sinks.pusher import Pusher
from shared.sinks.rollup_feed import RollupFeed
from shared.stores.port import DocumentStore
from tests.fixtures.fake_powerbi import ManualClock
from tests.unit.sinks._delta_checks import assert_deltas_equal_rollups, scenario_late, scenario_on_time
from tests.unit.sinks._sink_doubles import RecordingSink, RetailWorld


def _push_all(store: DocumentStore, sink: RecordingSink, clock: ManualClock) -> None:
    outbox = Outbox(store, [KPI_DELTA, KPI_SNAPSHOT], clock=clock)
    RollupFeed(store, outbox, page_size=7).poll()
    Pusher(outbox, {"kpi_delta": sink}, clock=clock, sleep=clock.sleep).drain()


def test_sum_of_deltas_equals_the_rollups_after_late_corrections(tmp_path: Path) -> None:
    world, sink, clock = RetailWorld(tmp_path), RecordingSink(), ManualClock()
    scenario_on_time(world)
    world.roll_up()
    _push_all(world.store, sink, clock)
    first = list(sink.received["kpi_delta"])
    assert_deltas_equal_rollups(world.store, first)

    scenario_late(world)
    world.roll_up()
    _push_all(world.store, sink, clock)
    rows = sink.received["kpi_delta"]
    assert len(rows) > len(first)
    assert_deltas_equal_rollups(world.store, rows)
    assert any(r["orders_completed"] < 0 for r in rows), "a moved completion is taken back by a negative delta"
    assert any(r["conv_transactions"] and not r["transactions"] for r in rows), "conversion corrected alone"
    assert len({r["row_id"] for r in rows}) == len(rows), "no row pushed twice"


def test_a_replayed_change_feed_adds_no_rows(tmp_path: Path) -> None:
    world, sink, clock = RetailWorld(tmp_path), RecordingSink(), ManualClock()
    scenario_on_time(world)
    world.roll_up()
    _push_all(world.store, sink, clock)
    pushed = len(sink.received["kpi_delta"])
    world.store.delete("outbox", "feed|rollups", "feed|rollups")  # the feed starts over from the beginning
    _push_all(world.store, sink, clock)
    assert len(sink.received["kpi_delta"]) == pushed


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_crashes_between_outbox_writes_lose_and_duplicate_nothing(tmp_path: Path, seed: int) -> None:
    world, sink, clock = RetailWorld(tmp_path), RecordingSink(), ManualClock()
    crashing = CrashingStore(world.store, 0.25, random.Random(seed))
    for scenario in (scenario_on_time, scenario_late):
        scenario(world)
        world.roll_up()
        for _ in range(500):  # each crash is a process restart: new outbox, feed and pusher
            try:
                _push_all(crashing, sink, clock)
                break
            except SimulatedCrash:
                continue
        else:
            pytest.fail("never finished")
    assert crashing.crashes > 0
    # A crash after the sink accepted a request but before the cursor moved re-sends that request:
    # the HTTP boundary is at-least-once. Such repeats carry the same row_id; every other row is exact.
    unique = {r["row_id"]: r for r in sink.received["kpi_delta"]}
    assert_deltas_equal_rollups(world.store, list(unique.values()))
