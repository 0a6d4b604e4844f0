"""Delta rows: after late corrections, SUM of pushed deltas per window equals the rollups, to the cent.

The real ingest and rollup handlers build the rollups; the outbox reads their change
feed; the pusher drains into a recording sink. Every minute KPI of every scope is then
recomputed from the pushed rows alone (sums, and ratios as DIVIDE of sums) and
compared with `kpi_rows`, the query behind `pulse kpis`.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from shared.kpis.formulas import rounded_ratio
from shared.money import cents_to_decimal
from shared.rollups.query import kpi_rows
from shared.runtime.crash_injection import CrashingStore
from shared.runtime.faults import SimulatedCrash
from shared.sinks.dataset import DELTA_COUNTER_COLUMNS, KPI_DELTA, KPI_SNAPSHOT
from shared.sinks.outbox import Outbox
from shared.sinks.pusher import Pusher
from shared.sinks.rollup_feed import RollupFeed
from shared.stores.port import DocumentStore
from tests.fixtures.fake_powerbi import ManualClock
from tests.unit.sinks._sink_doubles import NOW, RecordingSink, RetailWorld

MEASURES = [name for name, _ in DELTA_COUNTER_COLUMNS]


def _sums(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, str], dict[str, int]]:
    out: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    for row in rows:
        into = out[(row["scope"], row["key"], row["window"])]
        for name in MEASURES:
            into[name] += row[name]
    return out


def assert_deltas_equal_rollups(store: DocumentStore, rows: list[dict[str, Any]]) -> None:
    """Every minute KPI of every scope, recomputed from the delta rows, equals `kpi_rows`."""
    sums = _sums(rows)
    zero = dict.fromkeys(MEASURES, 0)
    seen = set()
    for scope in ("store", "region", "chain", "channel"):
        for kpi in kpi_rows(store, scope, "minute", NOW):  # type: ignore[arg-type]
            member = (scope, kpi["key"], kpi["window"])
            seen.add(member)
            s = sums.get(member, zero)
            assert cents_to_decimal(s["net_sales_cents"]) == kpi["net_sales"], member
            assert cents_to_decimal(s["gross_sales_cents"]) == kpi["gross_sales"], member
            assert cents_to_decimal(s["refunds_cents"]) == kpi["refunds"], member
            for column, name in [
                ("transactions", "transactions"),
                ("voids", "voids"),
                ("units", "units"),
                ("visitors", "visitors"),
                ("orders_placed", "orders_placed"),
                ("orders_completed", "orders_completed"),
                ("cancellations", "cancellations"),
            ]:
                assert s[column] == kpi[name], (member, column)
            assert rounded_ratio(s["net_sales_cents"], s["transactions"] * 100, 2) == kpi["aov"], member
            assert rounded_ratio(s["conv_transactions"], s["visitors"]) == kpi["conversion_rate"], member
            assert rounded_ratio(s["orders_on_time"], s["orders_completed"]) == kpi["on_time_rate"], member
            assert rounded_ratio(s["cycle_time_ms"], s["orders_completed"] * 1000, 3) == kpi["avg_cycle_time_s"]
    for member, s in sums.items():  # a window without a rollup must have summed to nothing
        assert member in seen or s == zero, member
    # store rows carry their region: summed per region they give the region rollup
    by_region: dict[tuple[str, str, str], dict[str, int]] = _sums(
        {**r, "scope": "region", "key": r["region"]} for r in rows if r["scope"] == "store"
    )
    for member, s in by_region.items():
        assert s == sums.get(member, zero), member


def _scenario_on_time(world: RetailWorld) -> None:
    for i, store in enumerate(("BER1", "BER2", "LON1", "WEB")):
        world.sale(100 + i, store, 30, 1999 + i, qty=2)
        world.sale(110 + i, store, 29.5, 505)
        world.visitors(120 + i, store, 30, 10 + i)
    world.sale(130, "BER1", 28, 1250, kind="refund")
    world.sale(131, "BER2", 27, 640)  # no visitors counted in that minute (yet): conversion numerator 0
    world.visitors(133, "BER1", 27, 10)  # ... while its region did count visitors: EAST converts 0 of 10
    world.sale(132, "WEB", 26, 990)  # and none ever: sales that never count toward conversion
    world.order(140, "O1", "BER1", "placed", 40, 40)
    world.order(141, "O1", "BER1", "ready_for_pickup", 20, 40)
    world.order(142, "O2", "LON1", "placed", 30, 30)


def _scenario_late(world: RetailWorld) -> None:
    world.sale(200, "BER1", 30, 777)  # late sale in a minute already pushed
    world.sale(201, "LON1", 29.5, 505, kind="refund")  # late refund
    world.visitors(202, "BER2", 28, 4)  # BER2 counted no visitors at minute 28 before
    world.sale(203, "BER2", 28, 300)
    world.visitors(206, "BER2", 27, 3)  # BER2 counted after all: its 27-min sale now converts
    world.order(204, "O1", "BER1", "shipped", 25, 40)  # O1's first completion moves from 20 to 25 min ago
    world.order(205, "O2", "LON1", "cancelled", 10, 30)


def _push_all(store: DocumentStore, sink: RecordingSink, clock: ManualClock) -> None:
    outbox = Outbox(store, [KPI_DELTA, KPI_SNAPSHOT], clock=clock)
    RollupFeed(store, outbox, page_size=7).poll()
    Pusher(outbox, {"kpi_delta": sink}, clock=clock, sleep=clock.sleep).drain()


def test_sum_of_deltas_equals_the_rollups_after_late_corrections(tmp_path: Path) -> None:
    world, sink, clock = RetailWorld(tmp_path), RecordingSink(), ManualClock()
    _scenario_on_time(world)
    world.roll_up()
    _push_all(world.store, sink, clock)
    first = list(sink.received["kpi_delta"])
    assert_deltas_equal_rollups(world.store, first)

    _scenario_late(world)
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
    _scenario_on_time(world)
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
    for scenario in (_scenario_on_time, _scenario_late):
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
