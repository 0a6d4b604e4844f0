"""A week of real delta rows into the fake Power BI, across compactions: exact, and never half done in a report.

The same row stream as production at a lower density (4 stores, a sale per store
every 15 minutes of trading, refunds, a late sale for the day before, a resent event)
and a cap scaled down to 2,400 rows, so the history is compacted every ~2 days: real
rows through the real outbox, publisher and pusher, over HTTP, with every rule the
fake enforces (see `_history_days`). Checked:

- after every day and right after every compaction, the deduplicated SUM of the
  history per (scope, key, hour) and per (store, business day) equals `pulse kpis`;
- after every change Power BI accepts (rows, a delete, a rebind), a report shows the
  closed days exactly: with the history pair never a partial total; with a single
  dataset (the design before the pair) the clear does show one, which is what the
  pair is for (and shows that the check can fail).

The full-size run (1,000 stores, 40 days) of the row schedule is
`tests/unit/sinks/test_sink_forty_days.py`; its real-row counterpart at full size is
`python -m benchmarks powerbi-rows --replay`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.fixtures.fake_powerbi import FakeLimits, FakePowerBi, ManualClock
from tests.integration._history_days import CAP, ROWS_PER_REQUEST, START, HistoryDays, Totals

DAYS = 7
TICK_S = 900


def _hours(totals: Totals, before: str) -> Totals:
    return {k: v for k, v in totals.items() if k[0] != "store-day" and k[2] < before}


def _run(tmp_path: Path, *, pair: bool) -> dict[str, Any]:
    clock = ManualClock(START.timestamp())
    limits = FakeLimits(none_retention_rows=CAP, large_table_rows=CAP // 10, rows_per_post=ROWS_PER_REQUEST)
    with FakePowerBi(clock, limits=limits) as fake:
        days = HistoryDays(tmp_path, fake, clock, pair=pair)
        settled: dict[str, Any] = {"before": "", "totals": {}}
        partial: list[tuple[float, str]] = []

        def observe(event: str) -> None:  # in the fake's thread, after each accepted change
            if settled["before"]:
                shown = _hours(days.shown(), settled["before"])
                if shown != settled["totals"]:
                    partial.append((clock(), event))

        def checkpoint() -> None:
            while days.publisher.status().pending_rows:
                clock.advance_to(clock() + 31)
                days.publisher.step()
            assert days.shown() == days.truth()  # the report's deduplicated SUM is `pulse kpis`, to the cent

        fake.observers.append(observe)
        compactions, checkpoints, compacting, peak = 0, 0, False, 0.0
        for day in range(DAYS):
            for tick in range(86_400 // TICK_S):
                at = START.timestamp() + day * 86_400 + tick * TICK_S
                clock.advance_to(at)
                days.trade(tick)
                days.roll_up()
                for status in days.step_until(at + TICK_S):
                    assert status.history is not None and not status.history.alert  # never at 80 %
                    peak = max(peak, status.history.used)
                    if status.history.compacting and not compacting:
                        compactions += 1
                    if compacting and not status.history.compacting:
                        checkpoint()  # right after a compaction
                        checkpoints += 1
                    compacting = status.history.compacting
            checkpoint()  # the end of every day
            checkpoints += 1
            closed = (days.now - timedelta(days=1)).strftime("%Y-%m-%dT00")  # late events reach back a day
            settled.update(before=closed, totals=_hours(days.shown(), closed))
        assert {r.status for r in fake.requests} == {200}  # no documented rule was ever broken
        return {
            "compactions": compactions,
            "checkpoints": checkpoints,
            "partial": partial,
            "peak": peak,
            "deletes": len(fake.deletes),
            "rebinds": len(fake.reports.rebinds),
            "rows": sum(r.rows for r in fake.accepted()),
        }


def test_with_the_history_pair_a_report_is_exact_and_never_shows_a_compaction_half_done(tmp_path: Path) -> None:
    run = _run(tmp_path, pair=True)
    assert run["compactions"] >= 2 and run["checkpoints"] >= DAYS + run["compactions"]
    assert run["partial"] == []  # at no accepted change did a closed hour show another total
    assert run["rebinds"] == run["compactions"]  # one switch per compaction
    assert run["deletes"] >= 2 * run["compactions"]  # the standby before its reseed, the old dataset after
    assert 0.5 < run["peak"] < 0.8


def test_with_one_history_dataset_the_report_shows_partial_totals_during_a_compaction(tmp_path: Path) -> None:
    run = _run(tmp_path, pair=False)
    assert run["compactions"] >= 2 and run["rebinds"] == 0 and run["deletes"] == run["compactions"]
    assert run["partial"] and {event for _, event in run["partial"]} >= {"delete"}  # cleared: closed hours vanish
