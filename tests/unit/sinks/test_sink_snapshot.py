"""Snapshot rows: today's KPIs per chain, region and store, each member on its own business day."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.rollups.query import backlog_by_scope, kpi_rows
from shared.sinks.dataset import KPI_SNAPSHOT
from shared.sinks.rows import BusinessCalendar, snapshot_rows
from tests.unit.sinks._sink_doubles import NOW, RetailWorld

CALENDAR = BusinessCalendar(
    {"BER1": "Europe/Berlin", "LON1": "Europe/London", "NEW1": "Europe/Berlin"}, reporting_zone="Europe/Berlin"
)


@pytest.fixture
def world(tmp_path: Path) -> RetailWorld:
    world = RetailWorld(tmp_path)
    world.sale(1, "BER1", 30, 2500, qty=3)
    world.sale(2, "LON1", 20, 1000)
    world.sale(3, "LON1", 19, 400, kind="refund")
    world.visitors(4, "BER1", 30, 12)
    world.order(5, "O1", "BER1", "placed", 90, 90)  # promised 60 minutes ago: open and overdue
    world.roll_up()
    return world


def test_snapshot_rows_match_the_day_kpis_and_fit_the_table(world: RetailWorld) -> None:
    rows = {(r["scope"], r["key"]): r for r in snapshot_rows(world.store, NOW, CALENDAR)}
    for row in rows.values():
        KPI_SNAPSHOT.check_row(row)
    for scope in ("chain", "region", "store"):
        for kpi in kpi_rows(world.store, scope, "day", NOW, window_from="2026-11-26", window_to="2026-11-27"):  # type: ignore[arg-type]
            row = rows[(scope, kpi["key"])]
            assert row["day"] == "2026-11-26" and row["snapshot_at"] == "2026-11-26T12:00:00Z"
            assert row["net_sales"] == float(kpi["net_sales"]) and row["transactions"] == kpi["transactions"]
            assert row["as_of"] == kpi["as_of"] and row["visitors"] == kpi["visitors"]
            assert row["conversion_rate"] == (None if kpi["conversion_rate"] is None else float(kpi["conversion_rate"]))
    assert rows[("chain", "ALL")]["net_sales"] == 82.02  # 75.00 EUR + 10.00 GBP - 4.00 GBP at 1.1713, to the cent
    assert rows[("store", "BER1")]["aov"] == 75.0 and rows[("store", "BER1")]["upt"] == 3.0
    assert (rows[("store", "BER1")]["open_backlog"], rows[("store", "BER1")]["overdue_backlog"]) == (1, 1)
    assert (
        backlog_by_scope(world.store, "chain", NOW)["ALL"]
        == (1, 1)
        == (
            rows[("chain", "ALL")]["open_backlog"],
            rows[("chain", "ALL")]["overdue_backlog"],
        )
    )


def test_a_store_without_sales_today_gets_a_row_of_zeros(world: RetailWorld) -> None:
    rows = {(r["scope"], r["key"]): r for r in snapshot_rows(world.store, NOW, CALENDAR)}
    new = rows[("store", "NEW1")]
    assert (new["net_sales"], new["transactions"], new["aov"], new["as_of"]) == (0.0, 0, None, None)


def test_after_local_midnight_a_tile_shows_the_new_day_not_yesterday(world: RetailWorld) -> None:
    late = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)  # 00:30 in Berlin, still 23:30 in London
    rows = {(r["scope"], r["key"]): r for r in snapshot_rows(world.store, late, CALENDAR)}
    assert rows[("store", "BER1")]["day"] == "2026-11-27" and rows[("store", "BER1")]["net_sales"] == 0.0
    assert rows[("store", "LON1")]["day"] == "2026-11-26" and rows[("store", "LON1")]["net_sales"] == 7.02
    assert rows[("chain", "ALL")]["day"] == "2026-11-27" and rows[("chain", "ALL")]["transactions"] == 0
    assert rows[("region", "EAST")]["day"] == "2026-11-27"  # regions seen yesterday still get today's row


def test_an_unknown_time_zone_fails_at_start() -> None:
    with pytest.raises(Exception, match="Mars/Olympus"):
        BusinessCalendar({"X": "Mars/Olympus"})
