"""Stay inside per-dataset limits: sliding-window budgets, a Retry-After block, and a pending-request gate.

A classic refilling token bucket (capacity 120, 2 tokens a second) lets 120 requests
through at once and then 2 a second, i.e. up to ~240 in a rolling minute: Power BI
counts per rolling window, so each budget here is a token bucket whose spent tokens
come back exactly one window after they were spent. Any window of that length then
holds at most `limit` units, which is what the limit means.

The hourly rule of large tables (120 POST rows requests an hour once a table holds
250,000 rows) is met by spacing, not by a burst: a "request spacing" budget of one
request per ``3600 / 120 = 30`` seconds, so catch-up never sends 120 requests in five
minutes and then stalls for 55; the longest wait it imposes is the spacing itself.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from shared.sinks.limits import SinkLimits

__all__ = ["Clock", "Permit", "RateLimiter", "Sleep", "WindowBudget"]

Clock = Callable[[], float]
"""Seconds (epoch or monotonic: only differences matter)."""
Sleep = Callable[[float], None]

_UNLIMITED = 2**62


class WindowBudget:
    """At most `limit` units in any window of `window_s` seconds (a unit spent at t counts in [t, t + window))."""

    def __init__(self, name: str, limit: int, window_s: float) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError(f"{name}: limit must be >= 1 and window_s > 0")
        self.name, self.limit, self.window_s = name, limit, window_s
        self._spent: deque[tuple[float, int]] = deque()
        self._used = 0

    def _expire(self, now: float) -> None:
        while self._spent and self._spent[0][0] + self.window_s <= now:
            self._used -= self._spent.popleft()[1]

    def used(self, now: float) -> int:
        """Units spent in the window ending at `now`."""
        self._expire(now)
        return self._used

    def wait_s(self, now: float, amount: int) -> float:
        """Seconds until `amount` more units fit (0 if they fit now)."""
        if amount > self.limit:
            raise ValueError(f"{self.name}: {amount} units can never fit a budget of {self.limit}")
        self._expire(now)
        excess = self._used + amount - self.limit
        if excess <= 0:
            return 0.0
        for spent_at, units in self._spent:
            excess -= units
            if excess <= 0:
                return spent_at + self.window_s - now
        raise AssertionError("unreachable: the spent units cover any excess")

    def take_history(self, other: WindowBudget) -> None:
        """Adopt what `other` (same window) has spent, e.g. when the limit changes."""
        for spent_at, units in other._spent:
            self.spend(spent_at, units)

    def spend(self, now: float, amount: int) -> None:
        """Record `amount` units spent at `now`."""
        self._expire(now)
        self._spent.append((now, amount))
        self._used += amount


@dataclass(frozen=True, slots=True)
class Permit:
    """Outcome of `RateLimiter.acquire`: granted, or how long the caller would still have to wait."""

    granted: bool
    wait_s: float = 0.0


class RateLimiter:
    """The limits of one dataset (or other limiter key). Thread-safe; time and sleep are injected."""

    def __init__(self, limits: SinkLimits, *, clock: Clock, sleep: Sleep) -> None:
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._gate = threading.BoundedSemaphore(limits.max_pending_requests)
        self._blocked_until = float("-inf")
        self._budgets: list[tuple[WindowBudget, bool]] = []  # (budget, counts rows rather than requests)
        self.limits = limits
        self._configure(limits)

    def _configure(self, limits: SinkLimits) -> None:
        # Every budget exists, limited or not, so that tightening a limit later (the large-table rule)
        # starts from the real history of the last window rather than from zero.
        specs = [
            ("requests per second", limits.requests_per_second, 1.0, False),
            ("requests per minute", limits.requests_per_minute, 60.0, False),
            ("requests per hour", limits.requests_per_hour, 3600.0, False),
            ("rows per hour", limits.rows_per_hour, 3600.0, True),
        ]
        spacing = limits.min_spacing_s
        if spacing is not None:
            specs.append(("request spacing", 1, spacing, False))
        old = {budget.name: budget for budget, _ in self._budgets}
        budgets = []
        for name, limit, window, rows in specs:
            budget = WindowBudget(name, _UNLIMITED if limit is None else limit, window)
            source = old.get(name) or (old.get("requests per minute") if name == "request spacing" else None)
            if source is not None:  # spacing starts from the requests of the last minute, not from zero
                budget.take_history(source)
            budgets.append((budget, rows))
        self._budgets = budgets

    def tighten(self, limits: SinkLimits) -> None:
        """Switch to `limits` (e.g. `SinkLimits.for_large_table()`), keeping the history of spent budget."""
        with self._lock:
            self.limits = limits
            self._configure(limits)

    @property
    def blocked_until(self) -> float:
        """No request before this time (set from Retry-After or an outage backoff)."""
        return self._blocked_until

    def block_until(self, until: float) -> None:
        """Hold every request of this key until `until` (never shortens an existing block)."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, until)

    def wait_s(self, rows: int) -> float:
        """Seconds until a request of `rows` rows may start."""
        with self._lock:
            now = self._clock()
            waits = [self._blocked_until - now]
            waits += [budget.wait_s(now, rows if counts_rows else 1) for budget, counts_rows in self._budgets]
            return max(0.0, *waits)

    def acquire(self, rows: int, deadline: float | None = None) -> Permit:
        """Wait (sleeping) until a request of `rows` rows fits, then spend its budget.

        `deadline` (clock time) is the latest a request may start: when the wait would
        end after it, nothing is spent and the permit is refused with the wait that
        remains, so the caller can come back later.
        """
        while True:
            wait = self.wait_s(rows)
            if deadline is not None and self._clock() + wait > deadline:
                return Permit(False, wait)
            if wait > 0:
                self._sleep(wait)
                continue
            with self._lock:
                now = self._clock()
                fits = all(b.wait_s(now, rows if r else 1) <= 0 for b, r in self._budgets)
                if fits and now >= self._blocked_until:
                    for budget, counts_rows in self._budgets:
                        budget.spend(now, rows if counts_rows else 1)
                    return Permit(True)

    def record(self, at: float, rows: int) -> None:
        """Count a request of `rows` rows sent at `at` (e.g. by another instance) against every budget."""
        with self._lock:
            for budget, counts_rows in self._budgets:
                budget.spend(at, rows if counts_rows else 1)

    @contextmanager
    def pending(self) -> Iterator[None]:
        """Hold one of the `max_pending_requests` slots for the duration of a request."""
        with self._gate:
            yield

    def used(self) -> dict[str, int]:
        """Budget used in each current window, by name (for status lines and tests)."""
        with self._lock:
            now = self._clock()
            return {budget.name: budget.used(now) for budget, _ in self._budgets}
