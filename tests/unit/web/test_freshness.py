"""Freshness the way a manager reads it: a door count's lag starts when its minute is over, cost's when its hour is."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
from web_rig import START, WebRig

from shared.contracts.registry import event_adapter, event_time
from shared.pipeline.freshness import complete_at
from shared.web.platform_health import platform_health
from shared.web.tiles import health_tiles
from tests.support.samples import sample

TS = START.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_record_is_complete_at_the_end_of_its_period() -> None:
    end = (START + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    door = event_adapter("traffic").validate_json(
        orjson.dumps(sample("traffic", 1, period_start=TS, period_seconds=60))
    )
    cost = event_adapter("cost").validate_json(orjson.dumps(sample("cost", 1, start_ts=TS, end_ts=end)))
    sale = event_adapter("txn").validate_json(orjson.dumps(sample("txn", 1, posted_ts=TS)))
    assert complete_at(door, event_time(door)) == START + timedelta(minutes=1)
    assert complete_at(cost, event_time(cost)) == START + timedelta(hours=1)
    assert complete_at(sale, event_time(sale)) == START


def test_a_door_count_sent_when_its_minute_ends_is_fresh(tmp_path: Path) -> None:
    rig = WebRig(tmp_path)
    arrived = START + timedelta(minutes=1, milliseconds=400)  # the counter sends after its minute is over
    body = orjson.dumps(sample("traffic", 1, store_id="DE001", period_start=TS, period_seconds=60))
    rig.send_body("traffic", "DE001", body, arrived)
    rig.settle(arrived)
    health = platform_health(rig.store, arrived)
    assert health.lagged == 1 and health.lag_p95_ms is not None and health.lag_p95_ms <= 1000  # not ~60 s
    (p95,) = [t for t in health_tiles(health, arrived) if t["id"] == "lag_p95_ms"]
    assert p95["label"] == "Lag p95 (record complete to KPI)"
    assert "door counts from the end of their minute" in p95["detail"] and p95["detail"].startswith("1 event,")
    rig.close()


def test_an_overloaded_pipeline_shows_how_far_behind_it_is_as_a_warning_not_a_dash(tmp_path: Path) -> None:
    rig = WebRig(tmp_path)
    arrived = START + timedelta(seconds=5)
    rig.send_body("txn", "DE001", orjson.dumps(sample("txn", 1, posted_ts=TS)), arrived)
    rig.settle(arrived)
    later = START + timedelta(minutes=12)  # nothing enqueued since 10:00 is processed: the last 5 min are empty
    health = platform_health(rig.store, later)
    assert health.lagged == 0 and health.lag_p95_ms is None
    assert health.behind_ms == 11 * 60_000  # now - the end of the newest processed enqueued minute
    tiles = {t["id"]: t for t in health_tiles(health, later)}
    for tile_id in ("lag_p50_ms", "lag_p95_ms"):
        assert tiles[tile_id]["kind"] == "behind_ms" and tiles[tile_id]["value"] == 11 * 60_000
        assert tiles[tile_id]["warning"] is True and tiles[tile_id]["detail"].startswith("overloaded:")
    fresh = {t["id"]: t for t in health_tiles(platform_health(rig.store, arrived), arrived)}
    assert fresh["lag_p95_ms"]["kind"] == "lag_ms" and "warning" not in fresh["lag_p95_ms"]
    rig.close()


def test_the_demo_fast_forward_is_history_for_the_health_tiles(tmp_path: Path) -> None:
    """A sale sent before the demo went live and processed at going live is not live lag (nor a received message)."""
    rig = WebRig(tmp_path)
    live = START + timedelta(minutes=10)
    early = (START + timedelta(minutes=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rig.send_body("txn", "DE001", orjson.dumps(sample("txn", 1, posted_ts=early)), START + timedelta(minutes=8))
    rig.settle(live)  # the fast-forward: two minutes late
    now = live + timedelta(seconds=30)
    posted = (live + timedelta(seconds=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rig.send_body("txn", "DE001", orjson.dumps(sample("txn", 2, posted_ts=posted)), live + timedelta(seconds=20))
    rig.settle(now - timedelta(seconds=9))  # live: 1 s after its time
    everything = platform_health(rig.store, now)
    assert everything.received == 2 and everything.lag_p95_ms is not None and everything.lag_p95_ms >= 120_000
    live_only = platform_health(rig.store, now, live_from=live)
    assert live_only.received == 1 and live_only.lagged == 1
    assert live_only.lag_p95_ms is not None and live_only.lag_p95_ms <= 1000
    rig.close()
