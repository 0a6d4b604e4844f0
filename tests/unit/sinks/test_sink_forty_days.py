"""Forty simulated days of the history table at 1,000 stores, compactly: request schedule, rules, cap and totals.

Rows are not materialised (40 days at 1,000 stores are ~40 million rows): each
request carries a count of rows and their summed value. What is real: the product's
`RateLimiter` with the history dataset's limits (1 POST a second, 120 a minute,
1,000,000 rows an hour, 120 an hour spaced 30 s apart), Power BI's rules as the fake
judges them (`tests.fixtures.powerbi_rules.judge`), the compaction policy and the
reseed size it implies (2 days of minute rows plus hour rows). The load is the
generator's measured 1,000-store day (`python -m benchmarks powerbi-rows`), peaking
at three times its average during trading hours. The schedule is the same with the
history pair (its two datasets share this one limiter). Real rows and their values,
across compactions, exact to `pulse kpis` after every day and every compaction:
`tests/integration/test_powerbi_history_days.py` (4 stores, a scaled-down cap).
"""

from __future__ import annotations

from shared.sinks.compaction import CompactionPolicy
from shared.sinks.history_budget import HistoryHealth
from shared.sinks.limits import NONE_RETENTION_TABLE_ROWS, POWERBI_PUSH_LIMITS
from shared.sinks.rate_limiter import RateLimiter
from tests.fixtures.fake_powerbi import ManualClock
from tests.fixtures.powerbi_rules import DatasetState, RuleConfig, accept, judge

ROWS_PER_DAY = 2_400_000
"""Delta rows a day at 1,000 stores, rounded up from the benchmark (a conservative load)."""
HOUR_ROWS_PER_DAY = 23_000
"""Hour rows a day at 1,000 stores (benchmark, rounded up): what a compacted day costs."""
DAY = 86_400


def _rate(t: float) -> float:
    """Rows a second at time t: trading hours (08-20 UTC) carry 3/4 of the day's rows."""
    hour = (t % DAY) / 3600
    return ROWS_PER_DAY * (0.75 / 43_200 if 8 <= hour < 20 else 0.25 / 43_200)


def test_forty_days_at_a_thousand_stores_stay_within_every_rule_and_exact() -> None:
    clock = ManualClock(0.0)
    limits = POWERBI_PUSH_LIMITS.for_large_table()
    limiter = RateLimiter(limits, clock=clock, sleep=clock.sleep)
    state, rules, policy = DatasetState("Push"), RuleConfig(), CompactionPolicy()
    cap = NONE_RETENTION_TABLE_ROWS
    arrived = pushed = 0.0  # rows (fractional arrivals accumulate)
    value_generated = value_in_table = 0  # one cent a row: SUM of the table must equal what was generated
    table_rows, longest_wait, compactions, peak_used, alerts = 0, 0.0, 0, 0.0, 0
    catching_up_until, longest_reseed = 0.0, 0.0
    last_send, end = 0.0, 40 * DAY
    while clock() < end:
        now = clock()
        arrived += _rate(now) * (now - last_send)
        last_send = now
        backlog = int(arrived - pushed)
        health = HistoryHealth("kpi_delta", table_rows, cap)
        if health.used >= policy.trigger_fraction:  # compaction: clear, then reseed what the table summed to
            days = now / DAY
            reseed = 0
            for window in policy.minute_windows():  # as `reseed_rows` chooses it: the longest that fits
                minute_days = window.total_seconds() / DAY
                reseed = int(minute_days * ROWS_PER_DAY + HOUR_ROWS_PER_DAY * max(0.0, days - minute_days))
                if reseed <= policy.reseed_fraction * cap:
                    break
            state.table_rows["kpi_delta"], table_rows, compactions = 0, 0, compactions + 1
            backlog_reseed, started = reseed, clock()
            while backlog_reseed:  # the reseed goes through the same limiter and rules
                n = min(backlog_reseed, limits.max_rows_per_request)
                limiter.acquire(n)
                verdict = judge(state, "kpi_delta", n, n * 420, clock(), 1, rules)
                assert verdict.status == 200, verdict
                accept(state, "kpi_delta", n, n * 420, clock(), verdict, rules)
                backlog_reseed -= n
                table_rows += n
            assert table_rows < policy.trigger_fraction * cap  # the compaction did bring it down
            longest_reseed = max(longest_reseed, clock() - started)
            catching_up_until = clock() + 3600  # the rows-per-hour budget the reseed spent comes back in an hour
            continue
        alerts += health.alert
        n = min(backlog, limits.max_rows_per_request, cap - table_rows)
        if n <= 0:
            clock.sleep(5.0)
            continue
        before = clock()
        limiter.acquire(n)
        if clock() > catching_up_until:
            longest_wait = max(longest_wait, clock() - before)
        verdict = judge(state, "kpi_delta", n, n * 420, clock(), 1, rules)  # ~420 bytes a row
        assert verdict.status == 200, (clock(), verdict)
        accept(state, "kpi_delta", n, n * 420, clock(), verdict, rules)
        pushed += n
        table_rows += n
        value_in_table += n
        peak_used = max(peak_used, table_rows / cap)
    value_generated = int(pushed)
    assert value_in_table == value_generated  # every generated row counted once (compaction reseeds, not drops)
    assert arrived - pushed < 10_000 * 2  # the backlog at the end is less than two requests
    assert longest_wait <= 30.0  # never a stall longer than the documented spacing (outside a compaction's hour)
    assert longest_reseed <= 3 * 3600  # a reseed takes at most 3 hours at 1,000 stores (1M rows an hour)
    assert compactions >= 10 and peak_used < 0.8 and alerts == 0  # the cap is never near, the alert never fires
