"""The product against the documented Power BI rules the fake enforces (see tests/fixtures/powerbi_rules.py).

Hybrid tiles failing over 15 KB, basicFIFO eviction, the hourly rule of large tables,
the undocumented answer at the 5,000,000-row cap (400, 429 or 503: the product never
reaches it), a resent request that changes no deduplicated total, and latest-wins
snapshots after an outage.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from shared.cli.powerbi import create_datasets
from shared.sinks.dataset import KPI_DELTA, KPI_TILES
from shared.sinks.limits import SinkLimits
from shared.sinks.measures import DAX_MEASURES, dedup_total
from shared.sinks.outbox import Outbox
from shared.sinks.port import Row, SinkUnavailable
from shared.sinks.powerbi_push import PushDatasetSink
from shared.sinks.publisher import build_publisher
from shared.sinks.pusher import Pusher
from shared.sinks.rollup_feed import RollupFeed
from shared.sinks.rows import BusinessCalendar
from shared.sinks.schema import ColumnSpec, DatasetSpec, TableSpec
from shared.stores.embedded import SqliteDocumentStore
from tests.fixtures.fake_powerbi import FakeLimits, FakePowerBi, ManualClock
from tests.fixtures.powerbi_rules import DatasetState, RuleConfig, accept, judge
from tests.integration.test_powerbi_fake import _client, _rows, publisher_for
from tests.unit.sinks._delta_checks import assert_deltas_equal_rollups, scenario_late, scenario_on_time
from tests.unit.sinks._sink_doubles import NOW, RetailWorld

EVENTS = TableSpec("events", (ColumnSpec("n", "Int64"), ColumnSpec("pad", "String", max_length=4000)))


def _dataset(fake: FakePowerBi, clock: ManualClock, mode: str, retention: str = "None") -> tuple[Any, str]:
    client = _client(fake, clock)
    spec = DatasetSpec(f"{mode} {retention}", (EVENTS,), default_mode=mode, retention=retention)  # type: ignore[arg-type]
    return client, client.create_dataset(spec)["id"]


def test_a_hybrid_dataset_takes_a_request_over_15_kb_but_its_tiles_fail(tmp_path: Path) -> None:
    clock = ManualClock()
    with FakePowerBi(clock) as fake:
        client, hybrid = _dataset(fake, clock, "PushStreaming")
        _, streaming = _dataset(fake, clock, "Streaming")
        big = _rows(0, 10, pad=2_000)  # ~20 KB
        client.post_rows(hybrid, "events", big)
        assert len(fake.rows(hybrid, "events")) == 10 and fake.state(hybrid).tile_failures == 1
        with pytest.raises(Exception, match="413"):
            client.post_rows(streaming, "events", big)


def test_the_tiles_stream_stays_under_15_kb_with_a_thousand_stores(tmp_path: Path) -> None:
    clock = ManualClock(NOW.timestamp())
    with FakePowerBi(clock) as fake:
        world = RetailWorld(tmp_path)
        url = fake.add_streaming_dataset("kpi_tiles", list(KPI_TILES.column_names))
        zones = {f"S{i:04d}": "Europe/Berlin" for i in range(1_000)}
        publisher = build_publisher(
            world.store,
            {"POWERBI_PUSH_URL": url},
            calendar=BusinessCalendar(zones, "Europe/Berlin"),
            clock=clock,
            sleep=clock.sleep,
        )
        assert publisher is not None
        scenario_on_time(world)
        world.roll_up()
        for _ in range(3):
            publisher.step()
            clock.advance_to(clock() + 5)
        (tiles,) = {r.dataset for r in fake.requests}
        accepted = fake.accepted(tiles)
        assert len(accepted) == 3 and all(r.rows == 1 and r.size < 15_000 for r in accepted)
        assert fake.state(tiles).mode == "Streaming" and not [r for r in fake.requests if r.status != 200]


def test_basic_fifo_keeps_the_newest_rows(tmp_path: Path) -> None:
    clock = ManualClock()
    with FakePowerBi(clock, limits=FakeLimits(fifo_rows=50)) as fake:  # 200,000 scaled down
        client, live = _dataset(fake, clock, "Push", "basicFIFO")
        for start in (0, 30, 60):
            client.post_rows(live, "events", _rows(start, 30))
            clock.advance_to(clock() + 1)
        assert [r["n"] for r in fake.rows(live, "events")] == list(range(40, 90))
        assert fake.state(live).table_rows["events"] == 50


def _pusher(
    tmp_path: Path, fake: FakePowerBi, clock: ManualClock, limits: SinkLimits
) -> tuple[Outbox, Pusher, PushDatasetSink, str]:
    client, dataset_id = _dataset(fake, clock, "Push")
    sink = PushDatasetSink(client, dataset_id, ["events"], limits=limits)
    outbox = Outbox(SqliteDocumentStore(tmp_path / "rules.db"), [EVENTS], clock=clock)
    return outbox, Pusher(outbox, {"events": sink}, clock=clock, sleep=clock.sleep), sink, dataset_id


def test_the_hourly_rule_of_large_tables_is_met_by_even_spacing(tmp_path: Path) -> None:
    clock = ManualClock(0.0)
    with FakePowerBi(clock, limits=FakeLimits(large_table_rows=100)) as fake:  # 250,000 scaled down
        limits = SinkLimits(max_rows_per_request=50, large_table_rows=100).for_large_table()
        outbox, pusher, _, dataset_id = _pusher(tmp_path, fake, clock, limits)
        outbox.enqueue_rows("events", _rows(0, 13_000))
        pusher.drain()
        times = [r.at for r in fake.requests]
        assert all(r.status == 200 for r in fake.requests) and len(times) == 260
        assert {b - a for a, b in itertools.pairwise(times)} == {30.0}  # never a burst, never a stall
        assert len(fake.rows(dataset_id, "events")) == 13_000


def test_unpaced_requests_to_a_large_table_are_throttled_by_the_fake(tmp_path: Path) -> None:
    clock = ManualClock(0.0)
    with FakePowerBi(clock, limits=FakeLimits(large_table_rows=100)) as fake:
        outbox, pusher, _, _ = _pusher(tmp_path, fake, clock, SinkLimits(max_rows_per_request=50))
        outbox.enqueue_rows("events", _rows(0, 10_000))
        pusher.drain(deadline_s=600)
        assert [r.status for r in fake.requests][:121] == [200] * 120 + [429]  # the rule the product spaces for


@pytest.mark.parametrize("cap_status", [400, 429, 503])
def test_the_table_cap_is_never_reached_whatever_power_bi_would_answer(tmp_path: Path, cap_status: int) -> None:
    clock = ManualClock(0.0)
    with FakePowerBi(clock, limits=FakeLimits(none_retention_rows=100, cap_status=cap_status)) as fake:
        limits = SinkLimits(max_rows_per_request=30, max_table_rows=100)  # 5,000,000 scaled down
        outbox, pusher, sink, dataset_id = _pusher(tmp_path, fake, clock, limits)
        outbox.enqueue_rows("events", _rows(0, 150))
        report = pusher.drain(deadline_s=60)
        assert len(fake.rows(dataset_id, "events")) == 100 and report.rows_rejected == 0
        assert report.blocked == {"events": float("inf")} and "cap" in (report.last_error or "")
        assert {r.status for r in fake.requests} == {200}  # the undocumented answer is never provoked
        stats = outbox.stats("events")
        assert stats.pending_rows == 50 and stats.rejected_rows == 0  # held, not lost
        sink.clear("events")  # the documented delete-rows call frees the table
        outbox.note_cleared("events")
        pusher.drain(deadline_s=60)
        assert [r["n"] for r in fake.rows(dataset_id, "events")] == list(range(100, 150))
        assert outbox.table_rows("events") == 50 and len(fake.deletes) == 1


@pytest.mark.parametrize(("cap_status", "outcome"), [(400, "rejected"), (429, "stuck")])
def test_without_the_budget_the_cap_would_lose_rows_or_stall(tmp_path: Path, cap_status: int, outcome: str) -> None:
    clock = ManualClock(0.0)
    with FakePowerBi(clock, limits=FakeLimits(none_retention_rows=100, cap_status=cap_status)) as fake:
        outbox, pusher, _, _ = _pusher(tmp_path, fake, clock, SinkLimits(max_rows_per_request=30))
        outbox.enqueue_rows("events", _rows(0, 150))
        report = pusher.drain(deadline_s=600)
        if outcome == "rejected":  # the pusher isolates "bad" rows one by one: SUM would drift
            assert report.rows_rejected == 50
        else:  # 429 forever: the backlog never drains
            assert report.rows_rejected == 0 and outbox.stats("events").pending_rows == 60 and report.throttled >= 9


class LostAnswer:
    """A push dataset sink whose first answer after `after` requests is lost: Power BI took the rows."""

    def __init__(self, inner: PushDatasetSink, after: int) -> None:
        self._inner, self._left = inner, after
        self.target, self.limit_key, self.limits = inner.target, inner.limit_key, inner.limits
        self.lost = 0

    def envelope_bytes(self, table: str) -> int:
        return self._inner.envelope_bytes(table)

    def send(self, table: str, rows: Sequence[Row]) -> None:
        self._inner.send(table, rows)
        self._left -= 1
        if self._left == 0:
            self.lost += 1
            raise SinkUnavailable("timed out waiting for the answer")  # accepted, but we cannot know


def test_a_resent_request_changes_no_deduplicated_total(tmp_path: Path) -> None:
    clock = ManualClock(NOW.timestamp())
    with FakePowerBi(clock) as fake:
        world = RetailWorld(tmp_path)
        client = _client(fake, clock)
        history = client.create_dataset(DatasetSpec("History", (KPI_DELTA,)))["id"]
        sink = LostAnswer(PushDatasetSink(client, history, ["kpi_delta"], keeps_all_rows=True), after=1)
        outbox = Outbox(world.store, [KPI_DELTA], clock=clock)
        pusher = Pusher(outbox, {"kpi_delta": sink}, clock=clock, sleep=clock.sleep)
        scenario_on_time(world)
        world.roll_up()
        feed = RollupFeed(world.store, outbox)
        feed.poll()
        pusher.drain()
        scenario_late(world)
        world.roll_up()
        feed.poll()
        pusher.drain()
        stored = fake.rows(history, "kpi_delta")
        ids = [r["row_id"] for r in stored]
        assert sink.lost == 1 and len(ids) > len(set(ids))  # the resend stored rows twice
        raw = sum(r["net_sales_cents"] for r in stored)
        distinct = {r["row_id"]: r for r in stored}
        assert dedup_total(stored, "net_sales_cents") == sum(r["net_sales_cents"] for r in distinct.values()) != raw
        assert_deltas_equal_rollups(world.store, list(distinct.values()))  # exact, to the cent, after dedupe
        assert all("SUMMARIZE ( kpi_delta, kpi_delta[row_id]" in DAX_MEASURES[m] for m in ("Net sales", "Transactions"))


def test_after_a_one_hour_outage_the_first_snapshot_pushed_is_the_current_one(tmp_path: Path) -> None:
    clock = ManualClock(NOW.timestamp())
    with FakePowerBi(clock) as fake:
        world = RetailWorld(tmp_path)
        client = _client(fake, clock)
        ids = {name: v["id"] for name, v in create_datasets(client, ["live"]).items()}
        environ = {"POWERBI_GROUP_ID": "group-1", "POWERBI_LIVE_DATASET_ID": ids["live"]}
        environ["POWERBI_API_BASE"] = fake.api_base
        publisher = publisher_for(
            world, fake, clock, environ, BusinessCalendar({"BER1": "Europe/Berlin"}, "Europe/Berlin")
        )
        scenario_on_time(world)
        world.roll_up()
        t0 = clock()
        fake.outage(t0 + 60, t0 + 3660)
        for _ in range(3700 // 5):  # a step every 5 s: a snapshot each time
            status = publisher.step()
            clock.advance_to(clock() + 5)
        (live_stats,) = [s for s in status.tables if s.table == "kpi_snapshot"]
        assert live_stats.superseded_rows > 0 and live_stats.pending_rows == 0
        after = [r for r in fake.accepted(ids["live"]) if r.at >= t0 + 3660]
        first = min(r.at for r in after)
        rows = fake.rows(ids["live"], "kpi_snapshot")
        stamps = sorted({r["snapshot_at"] for r in rows})
        assert not [s for s in stamps if t0 + 60 <= _epoch(s) < first]  # none of the ~720 stale snapshots
        assert any(_epoch(s) == first for s in stamps)  # the first push after it: the snapshot of that moment
        assert first - (t0 + 3660) <= 30  # within one outage backoff of the recovery


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


@pytest.mark.parametrize(
    ("mode", "requests", "size", "statuses"),
    [
        ("Push", [(0.0, 1), (0.5, 1), (1.0, 1)], 100, [200, 429, 200]),  # 1 POST a second
        ("Streaming", [(0.1 * i, 1) for i in range(6)], 100, [200] * 5 + [429]),  # 5 a second
        ("Streaming", [(0.0, 1)], 15 * 1024 + 1, [413]),  # 15 KB
        ("Push", [(0.0, 1)], 16 * 1024 * 1024 + 1, [413]),  # 16 MB
        ("Push", [(0.0, 10_001)], 100, [400]),  # 10,000 rows a request
        ("Streaming", [(i * 0.25, 1) for i in range(200)], 100, [200] * 200),  # no per-minute quota when streaming
    ],
)
def test_the_judge_applies_each_documented_rule_per_mode(
    mode: str, requests: list[tuple[float, int]], size: int, statuses: list[int]
) -> None:
    state, config, seen = DatasetState(mode), RuleConfig(), []
    for at, rows in requests:
        verdict = judge(state, "t", rows, size, at, 1, config)
        if verdict.status == 200:
            accept(state, "t", rows, size, at, verdict, config)
        seen.append(verdict.status)
    assert seen == statuses


def test_the_judge_counts_120_a_minute_and_a_million_rows_an_hour() -> None:
    state, config = DatasetState("Push"), RuleConfig()
    for i in range(120):
        accept(state, "t", 1, 10, float(i) * 0.5, judge(state, "t", 1, 10, i * 0.5 + 0.0, 1, config), config)
    assert judge(state, "t", 1, 10, 59.9, 1, config).status == 429  # the 121st in the minute
    big = DatasetState("Push")
    for i in range(100):
        accept(big, "t", 10_000, 10, float(i * 2), judge(big, "t", 10_000, 10, float(i * 2), 1, config), config)
    verdict = judge(big, "t", 1, 10, 300.0, 1, config)
    assert verdict.status == 429 and verdict.retry_after_s == 3300  # until the first 10,000 leave the hour
