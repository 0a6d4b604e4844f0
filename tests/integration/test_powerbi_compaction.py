"""Compaction of the history table against the fake Power BI: cleared with delete-rows, reseeded, still exact.

The cap is scaled down (the same code path as 5,000,000 rows): the publisher compacts
from 70 % of it, the pusher sends what was enqueued before, clears the table, sends
the reseed (hour rows), and later corrections keep adding on top, so SUM per hour in
Power BI equals the rollups to the cent before the clear and after the reseed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import replace
from itertools import chain
from pathlib import Path
from typing import Any

import pytest

from shared.kpis.state import SCOPES
from shared.rollups.minutes import query_minutes
from shared.sinks.compaction import CompactionPolicy
from shared.sinks.dataset import KPI_DELTA
from shared.sinks.limits import POWERBI_PUSH_LIMITS
from shared.sinks.measures import dedup_total
from shared.sinks.outbox import Outbox
from shared.sinks.powerbi_push import PushDatasetSink
from shared.sinks.publisher import PublisherConfig, RowPublisher
from shared.sinks.pusher import Pusher
from shared.sinks.rows import BusinessCalendar, delta_parts, is_minute_rollup
from shared.sinks.schema import DatasetSpec
from shared.stores.port import DocumentStore
from tests.fixtures.fake_powerbi import FakeLimits, FakePowerBi, ManualClock
from tests.integration.test_powerbi_fake import _client
from tests.unit.sinks._delta_checks import scenario_late, scenario_on_time
from tests.unit.sinks._sink_doubles import NOW, RetailWorld


def _hourly_rollups(store: DocumentStore) -> dict[tuple[str, str, str], int]:
    """Net sales cents per (scope, key, UTC hour) from the minute rollups: the truth."""
    out: dict[tuple[str, str, str], int] = defaultdict(int)
    for doc in chain.from_iterable(query_minutes(store, scope, None, None) for scope in SCOPES):
        if is_minute_rollup(doc):
            for counters in delta_parts(doc).values():
                out[(doc["scope"], doc["key"], doc["window"][:13])] += (
                    counters["gross_cents"] - counters["refund_cents"]
                )
    return {k: v for k, v in out.items() if v}


def _hourly_rows(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], int]:
    """The same from the rows Power BI holds, deduplicated on row_id (the published measures)."""
    by_hour: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_hour[(row["scope"], row["key"], row["window"][:13])].append(row)
    totals = {k: dedup_total(group, "net_sales_cents") for k, group in by_hour.items()}
    return {k: v for k, v in totals.items() if v}


@pytest.mark.parametrize("cap_status", [400, 429])
def test_compaction_clears_and_reseeds_the_history_and_keeps_it_exact(
    tmp_path: Path, cap_status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    clock = ManualClock(NOW.timestamp())
    cap = 40
    with FakePowerBi(clock, limits=FakeLimits(none_retention_rows=cap, cap_status=cap_status)) as fake:
        world = RetailWorld(tmp_path)
        client = _client(fake, clock)
        history = client.create_dataset(DatasetSpec("History", (KPI_DELTA,)))["id"]
        limits = replace(POWERBI_PUSH_LIMITS.for_large_table(), large_table_rows=250_000, max_table_rows=cap)
        sink = PushDatasetSink(client, history, ["kpi_delta"], limits=limits)
        outbox = Outbox(world.store, [KPI_DELTA], clock=clock)
        pusher = Pusher(outbox, {"kpi_delta": sink}, clock=clock, sleep=clock.sleep)
        config = PublisherConfig(compaction=CompactionPolicy(minute_days=0, trigger_fraction=0.85))
        publisher = RowPublisher(
            world.store,
            outbox,
            pusher,
            routed_tables=("kpi_delta",),
            calendar=BusinessCalendar(),
            clock=clock,
            config=config,
        )
        scenario_on_time(world)
        world.roll_up()
        first = publisher.step()
        for _ in range(6):  # 30 s apart per request
            clock.advance_to(clock() + 31)
            first = publisher.step()
        before = fake.rows(history, "kpi_delta")
        assert first.history is not None and first.history.rows == len(before) < 0.85 * cap
        assert _hourly_rows(before) == _hourly_rollups(world.store)

        scenario_late(world)  # corrections arrive while the compaction is due
        world.roll_up()
        statuses = []
        for _ in range(12):
            clock.advance_to(clock() + 31)
            statuses.append(publisher.step())
        after = fake.rows(history, "kpi_delta")
        assert len(fake.deletes) == 1 and "compacting kpi_delta" in caplog.text
        reseeded = [r for r in after if "|reseed@" in r["row_id"]]
        assert reseeded and {r["window"][14:] for r in reseeded} == {"00:00Z"}  # hour rows
        assert _hourly_rows(after) == _hourly_rollups(world.store)  # exact to the cent after clear + reseed
        last = statuses[-1]
        assert last.pending_rows == 0 and last.history is not None and not last.history.compacting
        assert last.history.rows == len(after) < cap and {r.status for r in fake.requests} == {200}
        assert "cleared kpi_delta" in caplog.text
