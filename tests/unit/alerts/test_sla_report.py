"""`sla_report` against a recomputation from the raw events: every figure exact."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from shared.kpis.formulas import format_utc
from shared.sla.config import load_config
from shared.sla.report import render_table, sla_report
from tests.support.samples import body
from tests.unit.alerts.alert_rig import AlertRig, config_from

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
SLOS = """
[[slo]]
name = "fresh"
kind = "freshness"
source = "txn"
threshold_ms = 5000
target = 0.95

[[slo]]
name = "complete"
kind = "completeness"
source = "txn"
target = 0.995

[[slo]]
name = "on-time"
kind = "on_time"
scope = "region"
target = 0.95
"""


def test_every_figure_equals_a_recomputation_from_the_raw_events(tmp_path: Path) -> None:
    rig = AlertRig(tmp_path, config_from(SLOS), ["DE001"])
    sent: list[tuple[datetime, datetime, bool]] = []  # (event time, processing time, malformed)
    n = 0
    for minute in range(180):
        start = T0 + timedelta(minutes=minute)
        delay = timedelta(seconds=(minute * 7) % 13)  # 0..12 s after the minute's end: some late, most not
        processed = start + timedelta(minutes=1) + delay
        for second in (5, 25, 45):
            n += 1
            at = start + timedelta(seconds=second)
            malformed = n % 11 == 0
            raw = b"{not json" if malformed else body("txn", n, merchant_id="DE001", posted_ts=format_utc(at))
            rig.queue("txn", "DE001", raw, at + timedelta(seconds=1))
            sent.append((at, processed, malformed))
        rig.settle(start + timedelta(minutes=1), processed)
    orders = []  # (placed, completed, promised) at DE001 (region DE_NORTH)
    for i in range(10):
        placed = T0 + timedelta(minutes=10 * i)
        completed = placed + timedelta(minutes=30 + 10 * i)
        promised = placed + timedelta(hours=1)
        orders.append((placed, completed, promised))
        fields = {"order_id": f"O-{i}", "store_id": "DE001", "order_placed_ts": format_utc(placed)}
        fields["promised_ts"] = format_utc(promised)
        for status, ts in (("placed", placed), ("shipped", completed)):
            rig.queue(
                "fulfillment",
                "DE001",
                body(
                    "fulfillment",
                    1000 + 2 * i + (status == "shipped"),
                    status=status,
                    status_ts=format_utc(ts),
                    **fields,
                ),
                ts + timedelta(seconds=1),
            )
    end = T0 + timedelta(hours=4)
    rig.settle(end)

    report = sla_report(rig.store, rig.config.slos, end, T0)
    lines = {line["slo"]: line for line in report["slos"]}

    accepted = [(at, processed) for at, processed, bad in sent if not bad]
    fresh_good = sum(1 for at, processed in accepted if (processed - at) <= timedelta(milliseconds=5000))
    assert (lines["fresh"]["good"], lines["fresh"]["total"]) == (fresh_good, len(accepted))
    assert lines["fresh"]["sli"] == str((Decimal(fresh_good) / len(accepted)).quantize(Decimal("0.0001")))
    bad = len(accepted) - fresh_good
    assert lines["fresh"]["budget_consumed"] == str(
        (Decimal(bad) / (len(accepted) * Decimal("0.05"))).quantize(Decimal("0.0001"))
    )
    assert lines["fresh"]["met"] is (fresh_good >= Decimal("0.95") * len(accepted))

    assert (lines["complete"]["good"], lines["complete"]["total"]) == (len(accepted), len(sent))
    per_hour: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for at, _, malformed in sent:
        hour = format_utc(at + timedelta(seconds=1))[:13]
        per_hour[hour][0] += 0 if malformed else 1
        per_hour[hour][1] += 1
    worst = min(per_hour.items(), key=lambda kv: (Decimal(kv[1][0]) / kv[1][1], kv[0]))
    assert lines["complete"]["worst_periods"][0]["period"] == worst[0]
    assert (lines["complete"]["worst_periods"][0]["good"], lines["complete"]["worst_periods"][0]["total"]) == tuple(
        worst[1]
    )

    on_time = sum(1 for _, completed, promised in orders if completed <= promised)
    assert (lines["on-time"]["key"], lines["on-time"]["good"], lines["on-time"]["total"]) == ("DE_NORTH", on_time, 10)
    assert lines["on-time"]["met"] is False and lines["on-time"]["worst_periods"][0]["period"] == "2026-11-26"
    assert "fresh" in render_table(report)
    rig.close()


def test_the_shipped_file_is_valid_and_every_rule_resolves() -> None:
    config = load_config()
    assert {s.name for s in config.slos} >= {"txn-freshness", "txn-completeness", "on-time-fulfilment"}
    assert all(rule.slo is None or config.slo(rule.slo) for rule in config.rules)


def test_outputs_slo_counts_the_minutes_the_page_data_was_fresh(tmp_path: Path) -> None:
    config = config_from('[[slo]]\nname = "outputs"\nkind = "outputs"\nthreshold_s = 60\ntarget = 0.99\n')
    rig = AlertRig(tmp_path, config, ["DE001"])
    for minute in range(31):
        rig.sales("DE001", T0 + timedelta(minutes=minute, seconds=5))
    for minute in range(1, 31):
        now = T0 + timedelta(minutes=minute)
        if not 10 <= minute <= 14:  # the rollups stall for five minutes: the page's data ages 60..300 s
            rig.settle(now)
        rig.evaluate(now)
        rig.evaluate(now + timedelta(seconds=30))  # a second evaluation in the minute writes no second probe
    report = sla_report(rig.store, config.slos, T0 + timedelta(hours=1), T0)
    (line,) = report["slos"]
    assert (line["key"], line["good"], line["total"]) == ("outputs", 26, 30)  # 09:11-09:14 were over 60 s
    assert line["met"] is False and line["worst_periods"][0]["period"] == "2026-11-26T09"
    rig.close()
