"""What a compaction reseeds: exactly what was enqueued so far, minute rows recent, hour rows older."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from shared.sinks._outbox_docs import OUTBOX_CONTAINER
from shared.sinks.compaction import CompactionPolicy, enqueued_minutes, reseed_rows
from shared.sinks.dataset import KPI_DELTA
from shared.sinks.outbox import Outbox
from shared.sinks.pusher import Pusher
from shared.sinks.rollup_feed import RollupFeed
from tests.fixtures.fake_powerbi import ManualClock
from tests.unit.sinks._delta_checks import scenario_late, scenario_on_time
from tests.unit.sinks._sink_doubles import NOW, RecordingSink, RetailWorld


def _net(rows: list[dict[str, object]]) -> dict[tuple[object, object], int]:
    out: dict[tuple[object, object], int] = {}
    for row in rows:
        member = (row["scope"], row["key"])
        out[member] = out.get(member, 0) + int(row["net_sales_cents"])  # type: ignore[call-overload]
    return out


def _pushed(tmp_path: Path) -> tuple[RetailWorld, RecordingSink]:
    """A world whose on-time scenario was enqueued and pushed."""
    world, clock = RetailWorld(tmp_path), ManualClock(NOW.timestamp())
    outbox = Outbox(world.store, [KPI_DELTA], clock=clock)
    sink = RecordingSink()
    scenario_on_time(world)
    world.roll_up()
    RollupFeed(world.store, outbox).poll()
    Pusher(outbox, {"kpi_delta": sink}, clock=clock, sleep=clock.sleep).drain()
    return world, sink


def test_the_reseed_sums_to_what_was_enqueued_not_to_rollups_the_feed_has_not_seen(tmp_path: Path) -> None:
    world, sink = _pushed(tmp_path)
    scenario_late(world)
    world.roll_up()  # the late corrections are in the rollups, not yet enqueued
    pushed = sink.received["kpi_delta"]
    for policy in (CompactionPolicy(minute_days=0), CompactionPolicy(minute_days=2)):
        reseed = reseed_rows(enqueued_minutes(world.store, NOW), NOW, policy, "g1")
        assert _net(reseed) == _net(pushed)  # same SUM per member as the rows Power BI holds
        assert all(r["row_id"].endswith("|reseed@g1") for r in reseed)
    hours = reseed_rows(enqueued_minutes(world.store, NOW), NOW, CompactionPolicy(minute_days=0), "g")
    assert {r["window"][14:] for r in hours} == {"00:00Z"} and len(hours) < len(pushed)


def test_a_minute_whose_state_expired_is_read_from_its_final_rollup(tmp_path: Path) -> None:
    world, sink = _pushed(tmp_path)
    for state in world.store.query(OUTBOX_CONTAINER, where={"kind": "dstate"}):  # as if their TTL had passed
        world.store.delete(OUTBOX_CONTAINER, state["pk"], state["id"])
    later = NOW + timedelta(days=9)
    assert _net(reseed_rows(enqueued_minutes(world.store, later), later, CompactionPolicy(), "g")) == _net(
        sink.received["kpi_delta"]
    )
    assert enqueued_minutes(world.store, NOW) == {}  # recent minutes without a state were never enqueued


def test_the_minute_window_shrinks_until_the_reseed_fits(tmp_path: Path) -> None:
    world, _ = _pushed(tmp_path)
    minutes = enqueued_minutes(world.store, NOW)
    wide = reseed_rows(minutes, NOW, CompactionPolicy(), "g")
    narrow = reseed_rows(minutes, NOW, CompactionPolicy(), "g", cap=40)  # 35 % of 40: 14 rows at most
    assert len(wide) > 14 >= len(narrow) and _net(wide) == _net(narrow)
