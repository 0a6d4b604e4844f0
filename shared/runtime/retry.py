"""Retrying transient store faults: capped exponential backoff, with the sleep injected."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from shared.stores.port import TransientStoreError

__all__ = ["DeadlineExceeded", "RetryPolicy", "StopRequested", "retry_transient"]

T = TypeVar("T")


class StopRequested(Exception):
    """Raised by the host's sleep when `LocalHost.stop` was called: abandon the work, do not checkpoint."""


class DeadlineExceeded(TimeoutError):
    """Raised by the host's sleep when `LocalHost.run_until_quiet` ran out of time (e.g. retrying forever)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait before the n-th retry: ``min(max_delay_s, initial_delay_s * multiplier**(n-1))``."""

    initial_delay_s: float = 0.05
    max_delay_s: float = 2.0
    multiplier: float = 2.0
    max_attempts: int | None = None
    """None: retry until it works or the host stops (a batch is never skipped)."""

    def __post_init__(self) -> None:
        if self.initial_delay_s < 0 or self.max_delay_s < self.initial_delay_s or self.multiplier < 1:
            raise ValueError(f"unusable retry policy {self}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1 or None, got {self.max_attempts}")

    def delay(self, retry: int) -> float:
        """Seconds to sleep before retry number `retry` (1-based)."""
        exponent = min(retry - 1, 64)  # the cap applies long before; avoid float overflow
        return float(min(self.max_delay_s, self.initial_delay_s * self.multiplier**exponent))


def retry_transient(
    call: Callable[[], T],
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    on_retry: Callable[[int, TransientStoreError], None],
) -> T:
    """`call()`, retried after each `TransientStoreError`; other exceptions propagate at once.

    `on_retry(n, error)` runs before the n-th retry's sleep. After `policy.max_attempts`
    failed attempts the last `TransientStoreError` propagates.
    """
    attempt = 0
    while True:
        try:
            return call()
        except TransientStoreError as error:
            attempt += 1
            if policy.max_attempts is not None and attempt >= policy.max_attempts:
                raise
            on_retry(attempt, error)
            sleep(policy.delay(attempt))
