"""Scenarios on a simulated clock through the real pipeline: exact sequences of states and deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.alerts.evaluator import AlertEvaluator
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


FLAPPING = """
[[rule]]
name = "sales-high"
kind = "threshold"
metric = "net_sales"
scope = "store"
over = "1m"
above = 100
clear = 90
receivers = ["hook"]
"""


def test_a_value_hovering_at_the_line_fires_once_and_resolves_once(tmp_path: Path) -> None:
    rig = AlertRig(tmp_path, config_from(FLAPPING), ["DE001"])
    t0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    amounts = ["95", "105", "97", "103", "96", "101", "92", "85", "95", "99", "98"]
    for minute, amount in enumerate(amounts):  # one sale a minute: the minute's net sales
        rig.sales("DE001", t0 + minute * MIN + timedelta(seconds=30), amount)
    seen = _minutes(rig, t0 + MIN, t0 + len(amounts) * MIN)
    # 105 > 100 fires; 97, 103, 96, 101, 92 stay above the clear line 90; 85 resolves; 95, 99, 98 stay under 100
    assert seen == [
        (t0 + 2 * MIN, "DE001", "normal", "firing"),
        (t0 + 8 * MIN, "DE001", "firing", "resolved"),
        (t0 + 9 * MIN, "DE001", "resolved", "normal"),
    ]
    rig.drain(t0 + 12 * MIN)
    assert [(m["state"], m["alerts"][0]["value"]) for _, m in rig.transport.received] == [
        ("firing", 105.0),
        ("resolved", 85.0),
    ]
    rig.close()


ANOMALY = """
[[rule]]
name = "sales-drop"
kind = "anomaly"
metric = "net_sales"
scope = "store"
over = "1h"
drop = 0.4
min_volume = 500
receivers = ["hook"]
"""


def test_sales_drop_against_the_same_hour_last_week(tmp_path: Path) -> None:
    rig = AlertRig(tmp_path, config_from(ANOMALY), ["DE001", "DE002"])
    now = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
    week = timedelta(days=7)
    for i in range(10):  # last week 10:00-11:00: DE001 sold 10 x 100, DE002 only 4 x 100 (under the minimum)
        rig.sales("DE001", now - week - timedelta(hours=1) + i * 5 * MIN, "100")
        if i < 4:
            rig.sales("DE002", now - week - timedelta(hours=1) + i * 5 * MIN, "100")
    rig.settle(now - week)
    for i in range(5):  # this week: DE001 5 x 100 = -50 %; DE002 nothing at all (but last week was too quiet)
        rig.sales("DE001", now - timedelta(hours=1) + i * 5 * MIN, "100")
    rig.settle(now)
    report = rig.evaluate(now)
    assert rig.states(report) == [("DE001", "normal", "firing")]
    assert report.transitions[0]["detail"] == "500 vs 1000 a week ago (-50%)"
    rig.close()


BURN = """
[[slo]]
name = "fresh"
kind = "freshness"
source = "txn"
threshold_ms = 5000
target = 0.95

[[rule]]
name = "fresh-fast-burn"
kind = "burn_rate"
slo = "fresh"
scope = "source"
long = "1h"
short = "5m"
factor = 14.4
severity = "page"
receivers = ["hook"]
"""


def test_a_stalled_partition_burns_the_freshness_budget_and_pages(tmp_path: Path) -> None:
    rig = AlertRig(tmp_path, config_from(BURN + 'on_no_data = "keep"\n'), ["DE001"])
    t0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    for second in range(7, 75 * 60, 20):  # three sales a minute (:07, :27, :47), processed 3 s later
        rig.sales("DE001", t0 + timedelta(seconds=second))
    seen = []
    for now in every(t0, t0 + 75 * MIN, timedelta(seconds=10)):
        if not t0 + 10 * MIN <= now < t0 + 60 * MIN:  # the partition stalls from 10:10 to 11:00, then catches up
            rig.settle(now)
        if now.second == 0:
            seen += [(now, *t) for t in rig.states(rig.evaluate(now))]
    # 11:00: the hour holds 30 fresh and 150 late events (burn 16.7x >= 14.4), the last 5 minutes 15 late (20x);
    # 11:02: the last 5 minutes hold 9 late and 6 fresh (12x): the short window ends the page quickly, as designed.
    # While stalled there are no events: no burn, the state is kept.
    assert seen == [
        (t0 + 60 * MIN, "txn", "normal", "firing"),
        (t0 + 62 * MIN, "txn", "firing", "resolved"),
        (t0 + 63 * MIN, "txn", "resolved", "normal"),
    ]
    firing = rig.history()[0]
    assert firing["value"] == 16.6667 and firing["detail"] == "burn 16.7x over 1h, 20.0x over 5m (alert at 14.4x)"
    rig.close()


def test_a_fresh_start_is_not_a_silence(tmp_path: Path) -> None:
    rig = AlertRig(tmp_path, config_from(HEARTBEAT), ["DE001", "DE002"])
    t0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    for minute in range(30):  # the pipeline starts at 10:00; DE002 never sends
        rig.sales("DE001", t0 + minute * MIN + timedelta(seconds=30))
    seen = _minutes(rig, t0 + MIN, t0 + 30 * MIN)
    assert seen == [(t0 + 15 * MIN, "DE002", "normal", "firing")]  # only once the pipeline ran 15 minutes
    rig.close()


def test_a_backfilled_day_burns_no_budget_counted_from_going_live(tmp_path: Path) -> None:
    """`pulse demo`'s fast-forward: an hour of sales sent before the demo went live and processed at once.

    Counted as live, the hour is late and the burn rate pages (the control: the test can fail);
    with `live_from`, the platform metrics start when the pipeline went live and nothing fires
    (the shipped freshness rules say ``on_no_data = "ok"``, as here: the first minute has no data)."""
    t0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    live = t0 + 60 * MIN
    outcomes = []
    for live_from in (None, live):
        rig = AlertRig(tmp_path / str(live_from is None), config_from(BURN + 'on_no_data = "ok"\n'), ["DE001"])
        rig.evaluator = AlertEvaluator(rig.store, rig.config, rig.stores, live_from=live_from)
        for second in range(7, 70 * 60, 20):  # three sales a minute from 10:00 to 11:10
            rig.sales("DE001", t0 + timedelta(seconds=second))
        rig.settle(live)  # the fast-forward: the hour before going live, processed at 11:00
        seen = []
        for now in every(live, live + 10 * MIN, timedelta(seconds=10)):
            rig.settle(now)  # live: each sale processed within 10 s of its time
            if now.second == 0:
                seen += rig.states(rig.evaluate(now))
        outcomes.append(seen)
        rig.close()
    assert outcomes[0] and outcomes[0][0] == ("txn", "normal", "firing")
    assert outcomes[1] == []
