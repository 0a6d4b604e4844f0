"""The rate limiter keeps every rolling window within its limit, with the real Power BI numbers."""

from __future__ import annotations

import threading
import time

import pytest

from shared.sinks.limits import POWERBI_PUSH_LIMITS, POWERBI_STREAMING_LIMITS, SinkLimits
from shared.sinks.rate_limiter import RateLimiter, WindowBudget
from tests.fixtures.fake_powerbi import ManualClock


def _max_in_window(times: list[tuple[float, int]], window: float) -> int:
    """Largest sum of amounts spent within any half-open window [t, t + window)."""
    best = 0
    for start, _ in times:
        best = max(best, sum(n for t, n in times if start <= t < start + window))
    return best


def test_window_budget_returns_tokens_exactly_one_window_later() -> None:
    budget = WindowBudget("requests per minute", 3, 60.0)
    for t in (0.0, 10.0, 20.0):
        assert budget.wait_s(t, 1) == 0
        budget.spend(t, 1)
    assert budget.wait_s(30.0, 1) == pytest.approx(30.0)  # the unit spent at 0 comes back at 60
    assert budget.wait_s(30.0, 2) == pytest.approx(40.0)  # two units: the one of 10 s too
    assert budget.wait_s(60.0, 1) == 0


def test_an_amount_larger_than_the_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="can never fit"):
        WindowBudget("rows per hour", 100, 3600).wait_s(0, 101)


def test_push_limits_hold_over_a_simulated_two_hours_of_greedy_requests() -> None:
    clock = ManualClock(0.0)
    limiter = RateLimiter(POWERBI_PUSH_LIMITS, clock=clock, sleep=clock.sleep)
    sent: list[tuple[float, int]] = []
    while limiter.acquire(10_000, deadline=7199.0).granted:  # always the largest request: rows bind
        sent.append((clock(), 10_000))
    assert _max_in_window([(t, 1) for t, _ in sent], 60) <= 120
    assert _max_in_window(sent, 3600) == 1_000_000  # never more, and the budget is used, not wasted
    assert len(sent) == 200  # 100 requests of 10,000 rows in each of the two hours


def test_small_requests_are_bound_by_120_a_minute_not_by_a_refilling_burst() -> None:
    clock = ManualClock(0.0)
    limiter = RateLimiter(SinkLimits(requests_per_second=None), clock=clock, sleep=clock.sleep)
    sent = []
    while limiter.acquire(1, deadline=299.5).granted:
        sent.append((clock(), 1))
    assert _max_in_window(sent, 60) == 120  # a refilling token bucket would allow ~240 here
    assert len(sent) == 600


def test_push_datasets_take_one_post_a_second() -> None:
    clock = ManualClock(0.0)
    limiter = RateLimiter(POWERBI_PUSH_LIMITS, clock=clock, sleep=clock.sleep)
    sent = []
    while limiter.acquire(1, deadline=119.5).granted:
        sent.append((clock(), 1))
    assert _max_in_window(sent, 1) == 1 and _max_in_window(sent, 60) == 60 and len(sent) == 120


def test_streaming_limits_add_five_requests_a_second() -> None:
    clock = ManualClock(0.0)
    limiter = RateLimiter(POWERBI_STREAMING_LIMITS, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(40):
        limiter.acquire(10)
        sent.append((clock(), 1))
    assert _max_in_window(sent, 1) == 5  # and no per-minute quota: 40 requests in 8 seconds
    assert clock() == pytest.approx(7.0)


def test_a_deadline_refuses_instead_of_sleeping_past_it() -> None:
    clock = ManualClock(0.0)
    limiter = RateLimiter(SinkLimits(requests_per_minute=2, requests_per_second=None), clock=clock, sleep=clock.sleep)
    assert limiter.acquire(1, deadline=1.0).granted
    assert limiter.acquire(1, deadline=1.0).granted
    permit = limiter.acquire(1, deadline=1.0)
    assert not permit.granted and permit.wait_s == pytest.approx(60.0)
    assert clock() == 0.0 and limiter.used()["requests per minute"] == 2  # nothing slept, nothing spent


def test_block_until_holds_every_request_and_never_shortens() -> None:
    clock = ManualClock(100.0)
    limiter = RateLimiter(POWERBI_PUSH_LIMITS, clock=clock, sleep=clock.sleep)
    limiter.block_until(130.0)
    limiter.block_until(110.0)
    limiter.acquire(1)
    assert clock() == 130.0


def test_tightening_to_the_large_table_rule_keeps_what_was_spent() -> None:
    clock = ManualClock(0.0)
    limiter = RateLimiter(POWERBI_PUSH_LIMITS, clock=clock, sleep=clock.sleep)
    for _ in range(100):
        limiter.acquire(1)
    limiter.tighten(POWERBI_PUSH_LIMITS.for_large_table())
    sent = [(clock(), 1)] * 100
    while limiter.acquire(1, deadline=3599.0).granted:
        sent.append((clock(), 1))
    assert len(sent) == 120  # the 100 sent before the switch count toward the 120 of the hour


def test_at_most_max_pending_requests_run_at_once() -> None:
    limiter = RateLimiter(SinkLimits(max_pending_requests=2), clock=time.monotonic, sleep=time.sleep)
    running, peak, lock = 0, 0, threading.Lock()

    def request() -> None:
        nonlocal running, peak
        with limiter.pending():
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.02)
            with lock:
                running -= 1

    threads = [threading.Thread(target=request) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 2
