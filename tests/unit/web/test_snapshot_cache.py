"""The snapshot cache: once per data version, at most once per `min_age_s` under load, refreshed after `max_age_s`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from web_rig import START, WebRig, sale

from shared.web.snapshots import SnapshotCache
from tests.fixtures.fake_powerbi import ManualClock


def _transactions(body: bytes) -> int:
    return sum(int(m["transactions"]) for m in orjson.loads(body)["series"]["minutes"])


def test_newer_data_waits_until_the_snapshot_is_min_age_old_and_is_never_served_stale(tmp_path: Path) -> None:
    rig = WebRig(tmp_path)
    now = START + timedelta(minutes=2)
    ticks, version = ManualClock(100.0), [1]
    cache = SnapshotCache(
        rig.store, lambda: now, lambda: version[0], min_age_s=0.25, max_age_s=1.0, monotonic=ticks, sleep=ticks.sleep
    )
    try:
        first = cache.get()
        assert (_transactions(first), cache.computed) == (0, 1)

        rig.send_body("txn", "S001", sale(1, "S001", START + timedelta(seconds=30)), START + timedelta(seconds=31))
        rig.settle(now)
        version[0] = 2
        # the data moved while the snapshot is 0.1 s old: wait 0.15 s, then one new snapshot
        ticks.advance_to(ticks() + 0.1)
        second = cache.get()
        assert (_transactions(second), cache.computed, ticks.slept) == (1, 2, [pytest.approx(0.15)])
        assert (cache.get(), cache.computed) == (second, 2)  # the same data: from the cache, no wait

        version[0] = 3
        ticks.advance_to(ticks() + 0.3)  # older than min_age_s: computed at once
        cache.get()
        assert (cache.computed, ticks.slept) == (3, [pytest.approx(0.15)])
        third = cache.get()
        ticks.advance_to(ticks() + 0.5)
        assert (cache.get(), cache.computed) == (third, 3)  # same version, younger than max_age_s

        ticks.advance_to(ticks() + 0.6)  # same version, older than max_age_s: "as of now" values move
        cache.get()
        assert (cache.computed, ticks.slept) == (4, [pytest.approx(0.15)])
    finally:
        cache.close()
        rig.close()


def _dead_letter_detail(body: bytes) -> str:
    (tile,) = [t for t in orjson.loads(body)["tiles"] if t["id"] == "dead_letter_rate"]
    return str(tile["detail"])


def test_the_health_tiles_are_read_at_most_every_health_max_age_and_shared_by_every_filter(tmp_path: Path) -> None:
    rig = WebRig(tmp_path)
    now = START + timedelta(minutes=2)
    ticks, version = ManualClock(100.0), [1]
    cache = SnapshotCache(
        rig.store, lambda: now, lambda: version[0], min_age_s=0.25, max_age_s=1.0, health_max_age_s=2.0,
        monotonic=ticks, sleep=ticks.sleep,
    )  # fmt: skip
    try:
        first = cache.get()
        assert (_transactions(first), cache.health_reads) == (0, 1)
        assert "0 messages" in _dead_letter_detail(first)

        rig.send_body("txn", "S001", sale(1, "S001", START + timedelta(seconds=30)), START + timedelta(seconds=31))
        rig.settle(now)
        version[0] = 2
        ticks.advance_to(ticks() + 0.5)
        second = cache.get()  # the sale is in the series at once; the health tiles are 0.5 s old, kept
        assert (_transactions(second), cache.computed, cache.health_reads) == (1, 2, 1)
        assert _dead_letter_detail(second) == _dead_letter_detail(first)
        cache.get(region="DE_NORTH")  # another filter: the same health tiles
        assert (cache.computed, cache.health_reads) == (3, 1)

        version[0] = 3
        ticks.advance_to(ticks() + 1.6)  # 2.1 s after the first read: read again
        third = cache.get()
        assert (_transactions(third), cache.health_reads) == (1, 2)
        assert "1 message" in _dead_letter_detail(third)
    finally:
        cache.close()
        rig.close()
