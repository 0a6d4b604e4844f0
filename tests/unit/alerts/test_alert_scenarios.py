"""Scenarios on a simulated clock through the real pipeline: exact sequences of states and deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.unit.alerts.alert_rig import AlertRig, config_from, every

MIN = timedelta(minutes=1)

HEARTBEAT = """
[[rule]]
name = "till-silent"
kind = "heartbeat"
scope = "store"
source = "txn"
silent_for = "15m"
receivers = ["hook"]
group_by = ["region"]
"""


def _minutes(rig: AlertRig, start: datetime, end: datetime) -> list[tuple[datetime, str, str, str]]:
    seen = []
    for now in every(start, end, MIN):
        rig.settle(now)
        seen += [(now, *t) for t in rig.states(rig.evaluate(now))]
    return seen


def test_a_store_silent_in_opening_hours_fires_after_15_minutes_and_resolves_when_it_sends(tmp_path: Path) -> None:
    rig = AlertRig(tmp_path, config_from(HEARTBEAT), ["DE001"])
    t0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # a Thursday, 11:00 in Hamburg: open 09:30-20:00
    for minute in range(30):  # a sale every minute until 10:29:30, then the till goes quiet
        rig.sales("DE001", t0 + minute * MIN + timedelta(seconds=30))
    seen = _minutes(rig, t0 + MIN, t0 + 50 * MIN)
    assert seen == [(t0 + 45 * MIN, "DE001", "normal", "firing")]  # silent since 10:29:30, 15 full minutes at 10:45
    rig.sales("DE001", t0 + 50 * MIN + timedelta(seconds=20))
    seen = _minutes(rig, t0 + 51 * MIN, t0 + 52 * MIN)
    assert seen == [(t0 + 51 * MIN, "DE001", "firing", "resolved"), (t0 + 52 * MIN, "DE001", "resolved", "normal")]
    rig.drain(t0 + 52 * MIN)
    assert [m["state"] for _, m in rig.transport.received] == ["firing", "resolved"]
    assert rig.transport.received[0][1]["alerts"][0]["alert_id"] == "till-silent|DE001|1"
    rig.close()


def test_a_store_closing_on_time_never_fires(tmp_path: Path) -> None:
    rig = AlertRig(tmp_path, config_from(HEARTBEAT), ["DE001"])
    t0 = datetime(2026, 11, 26, 18, 30, tzinfo=UTC)  # 19:30 in Hamburg; the store closes at 20:00
    for minute in range(30):  # sales until 18:59:30 UTC, the last half minute before closing
        rig.sales("DE001", t0 + minute * MIN + timedelta(seconds=30))
    assert _minutes(rig, t0 + MIN, t0 + 120 * MIN) == []  # two hours after closing: still quiet
    assert rig.history() == []
    rig.close()
