"""The live page's snapshot against a real store filled through the real handlers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from web_rig import START, WebRig, sale

from shared.engine.flow import LAG_BOUNDS_MS
from shared.generator import demo_reference
from shared.rollups.query import backlog_by_scope, kpi_rows
from shared.web.directory import Directory
from shared.web.platform_health import lag_percentile_ms
from shared.web.snapshot import SERIES_MINUTES, UnknownFilter, snapshot, snapshot_json
from shared.web.tiles import KPI_TILES


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WebRig, datetime]]:
    """~40 minutes of the whole chain with a few faults, settled."""
    rig = WebRig(tmp_path_factory.mktemp("filled"))
    rig.send(rig.generated(6000, faults={"malformed": 0.01, "duplicate": 0.01, "late": 0.01}))
    now = rig.last_delivery + timedelta(seconds=2)
    rig.settle(now)
    yield rig, now
    rig.close()


def tiles(snap: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {tile["id"]: tile for tile in snap["tiles"]}


@pytest.mark.parametrize(
    ("filters", "scope", "key"),
    [({}, "chain", "ALL"), ({"region": "DE_SOUTH"}, "region", "DE_SOUTH"), ({"store_id": "GB012"}, "store", "GB012")],
)
def test_tiles_series_and_breakdown_equal_the_kpi_query(
    filled: tuple[WebRig, datetime], filters: dict[str, str], scope: str, key: str
) -> None:
    rig, now = filled
    snap = snapshot(rig.store, now, **filters)
    day = snap["focus"]["business_date"]
    (row,) = [r for r in kpi_rows(rig.store, scope, "day", now, key=key) if r["window"] == day]  # type: ignore[arg-type]
    assert row["transactions"] > 0
    for name, _label, _kind in KPI_TILES:
        assert tiles(snap)[name]["value"] == row[name], name
        assert tiles(snap)[name]["as_of"] == row["as_of"]
    minutes = {r["window"]: r for r in kpi_rows(rig.store, scope, "minute", now, key=key)}  # type: ignore[arg-type]
    series = snap["series"]["minutes"]
    assert len(series) == SERIES_MINUTES
    assert series[-1]["window"] == now.strftime("%Y-%m-%dT%H:%M:00Z")
    for point in series:
        expected = minutes.get(point["window"])
        assert point["net_sales"] == (expected["net_sales"] if expected else Decimal("0.00"))
        assert point["transactions"] == (expected["transactions"] if expected else 0)
    level = snap["breakdown"]["scope"]
    by_key = {r["key"]: r for r in kpi_rows(rig.store, level, "day", now) if r["window"] == day}
    assert snap["breakdown"]["rows"]
    for entry in snap["breakdown"]["rows"]:
        expected = by_key.get(entry["key"])
        assert entry["net_sales"] == (expected["net_sales"] if expected else Decimal("0.00")), entry["key"]
        assert entry["open_backlog"] == (expected["open_backlog"] if expected else entry["open_backlog"])
    assert [e["key"] for e in snap["breakdown"]["rows"] if e["selected"]] == ([key] if scope == "store" else [])


def test_breakdown_covers_the_chain(filled: tuple[WebRig, datetime]) -> None:
    rig, now = filled
    snap = snapshot(rig.store, now)
    total = sum(entry["net_sales"] for entry in snap["breakdown"]["rows"])
    assert total == tiles(snap)["net_sales"]["value"]
    assert sum(e["open_backlog"] for e in snap["breakdown"]["rows"]) == tiles(snap)["open_backlog"]["value"]


def test_backlog_equals_the_scan_of_every_backlog_document(filled: tuple[WebRig, datetime]) -> None:
    rig, now = filled
    later = now + timedelta(days=2)  # every promise has passed: open == overdue
    snap = snapshot(rig.store, later)
    (open_orders, overdue) = backlog_by_scope(rig.store, "chain", later)["ALL"]
    assert open_orders > 0
    assert tiles(snap)["open_backlog"]["value"] == open_orders
    assert tiles(snap)["overdue_backlog"]["value"] == overdue == open_orders


def test_health_tiles_count_dead_letters_of_the_last_hour(filled: tuple[WebRig, datetime]) -> None:
    rig, now = filled
    health = tiles(snapshot(rig.store, now))
    dead = health["dead_letter_rate"]
    assert Decimal("0") < dead["value"] < Decimal("0.05")
    assert dead["detail"].endswith("messages, last 60 min")
    assert health["lag_p50_ms"]["value"] in LAG_BOUNDS_MS
    assert health["lag_p95_ms"]["value"] >= health["lag_p50_ms"]["value"]
    assert dead["age_s"] is not None and dead["age_s"] >= 0


def test_a_late_event_corrects_its_past_minute_and_the_day(tmp_path: Path) -> None:
    rig = WebRig(tmp_path)
    now = START + timedelta(minutes=30)
    rig.send_body("txn", "DE001", sale(1, "DE001", now - timedelta(minutes=1), "10.00"), now)
    rig.settle(now)
    before = snapshot(rig.store, now, store_id="DE001")
    late_minute = (now - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:00Z")
    later = now + timedelta(seconds=5)
    rig.send_body("txn", "DE001", sale(2, "DE001", now - timedelta(minutes=20, seconds=-3), "12.50"), later)
    rig.settle(later)
    after = snapshot(rig.store, later, store_id="DE001")
    points = {p["window"]: p for p in after["series"]["minutes"]}
    earlier = {p["window"]: p for p in before["series"]["minutes"]}
    assert earlier[late_minute]["net_sales"] == Decimal("0.00") and earlier[late_minute]["gap"]  # no data yet today
    local = (now - timedelta(minutes=20)).astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M")
    assert points[late_minute] == {
        "window": late_minute,
        "local": local,
        "net_sales": Decimal("12.50"),
        "transactions": 1,
        "gap": False,
    }
    assert after["series"]["zone"] == "Europe/Berlin"
    gaps = [p["gap"] for p in after["series"]["minutes"]]
    assert gaps == [True] * 39 + [False] * 21  # before the day's first data: gaps; after it: real zeros
    assert tiles(after)["net_sales"]["value"] == Decimal("22.50")
    assert tiles(after)["transactions"]["value"] == 2
    assert tiles(after)["aov"]["value"] == Decimal("11.25")
    assert tiles(after)["net_sales"]["as_of"] == "2026-11-26T10:00:05Z"
    assert tiles(after)["net_sales"]["age_s"] == 0.0
    rig.close()


def test_an_empty_store_gives_zeros_and_no_freshness(tmp_path: Path) -> None:
    rig = WebRig(tmp_path)
    snap = snapshot(rig.store, START)
    by_id = tiles(snap)
    assert by_id["net_sales"]["value"] == Decimal("0.00")
    assert by_id["transactions"]["value"] == 0
    assert by_id["aov"]["value"] is None and by_id["conversion_rate"]["value"] is None
    assert by_id["open_backlog"]["value"] == 0
    assert by_id["dead_letter_rate"]["value"] is None and by_id["lag_p95_ms"]["value"] is None
    assert all(tile["as_of"] is None and tile["age_s"] is None for tile in snap["tiles"])
    assert all(p["transactions"] == 0 for p in snap["series"]["minutes"])
    assert [r["key"] for r in snap["breakdown"]["rows"]] == snap["filters"]["regions"]
    rig.close()


def test_stores_unknown_to_the_reference_show_as_unassigned(tmp_path: Path) -> None:
    rig = WebRig(tmp_path)
    now = START + timedelta(minutes=5)
    rig.send_body("txn", "XX-999", sale(1, "XX-999", now - timedelta(minutes=1), "7.00"), now)
    rig.settle(now)
    snap = snapshot(rig.store, now)
    rows = {r["key"]: r for r in snap["breakdown"]["rows"]}
    assert rows["UNASSIGNED"]["net_sales"] == Decimal("7.00")
    assert rows["UNASSIGNED"]["business_date"] == "2026-11-26"
    assert tiles(snap)["net_sales"]["value"] == Decimal("7.00")
    rig.close()


@pytest.mark.parametrize(
    ("filters", "parameter", "message"),
    [
        ({"region": "ATLANTIS"}, "region", "unknown region 'ATLANTIS'"),
        ({"store_id": "ZZ001"}, "store", "unknown store 'ZZ001'"),
        ({"region": "CEE", "store_id": "DE001"}, "store", "store 'DE001' is in region 'DE_NORTH', not 'CEE'"),
    ],
)
def test_unknown_filters_are_refused_by_name(
    filled: tuple[WebRig, datetime], filters: dict[str, str], parameter: str, message: str
) -> None:
    rig, now = filled
    with pytest.raises(UnknownFilter, match=message) as caught:
        snapshot(rig.store, now, **filters)
    assert caught.value.parameter == parameter


def test_today_is_each_members_local_business_date() -> None:
    late_evening = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    directory = Directory.from_reference(demo_reference(), late_evening)
    assert directory.business_date("store", "GB001", late_evening) == "2026-11-26"
    assert directory.business_date("store", "DE001", late_evening) == "2026-11-27"
    assert directory.business_date("region", "UK_SOUTH", late_evening) == "2026-11-26"
    assert directory.business_date("chain", "ALL", late_evening) == "2026-11-27"  # most stores are on CET
    assert directory.business_date("region", "UNASSIGNED", late_evening) == "2026-11-26"  # UTC, as enrichment does


@pytest.mark.parametrize(
    ("histogram", "percent", "expected"),
    [
        ({}, 50, None),
        ({"lag_le_250": 10}, 95, 250),
        ({"lag_le_250": 5, "lag_le_1000": 5}, 50, 250),
        ({"lag_le_250": 5, "lag_le_1000": 5}, 51, 1000),
        ({"lag_le_250": 94, "lag_le_60000": 6}, 95, 60000),
        ({"lag_le_250": 1, "lag_gt_86400000": 99}, 50, None),
    ],
)
def test_lag_percentile_is_the_bound_of_its_bucket(
    histogram: dict[str, int], percent: int, expected: int | None
) -> None:
    assert lag_percentile_ms(histogram, percent) == expected


def test_snapshot_json_keeps_money_exact(tmp_path: Path) -> None:
    rig = WebRig(tmp_path)
    now = START + timedelta(minutes=5)
    rig.send_body("txn", "DE001", sale(1, "DE001", now - timedelta(minutes=1), "12.30"), now)
    rig.settle(now)
    raw = snapshot_json(rig.store, now, store_id="DE001", clock_rate=30.0)
    assert b'"id":"net_sales","label":"Net sales","kind":"money","value":12.30' in raw
    data = orjson.loads(raw)
    assert data["clock_rate"] == 30.0 and data["now"] == "2026-11-26T09:35:00Z"
    assert data["focus"] == {
        "scope": "store",
        "key": "DE001",
        "label": "DE001 Pulse Hamburg Altona",
        "business_date": "2026-11-26",
    }
    rig.close()
