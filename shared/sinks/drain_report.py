"""What a drain did (`DrainReport`), how the pusher waits after failures (`PushPolicy`), and the running tally."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DrainReport", "PushPolicy"]


@dataclass(frozen=True, slots=True)
class PushPolicy:
    """How the pusher waits after failures."""

    backoff_initial_s: float = 1.0
    backoff_max_s: float = 30.0
    throttle_default_s: float = 5.0
    """Wait after a 429 that carried no Retry-After."""


@dataclass(frozen=True, slots=True)
class DrainReport:
    """What one `Pusher.drain` did."""

    requests: int = 0
    rows_pushed: int = 0
    rows_rejected: int = 0
    throttled: int = 0
    failures: int = 0
    blocked: dict[str, float] = field(default_factory=dict)
    """Tables left waiting (rate limit, Retry-After or outage backoff): earliest clock time to retry."""
    last_error: str | None = None


_COUNTS = ("requests", "rows_pushed", "rows_rejected", "throttled", "failures")


@dataclass
class _Tally:
    """A `DrainReport` being filled in while the tables drain."""

    requests: int = 0
    rows_pushed: int = 0
    rows_rejected: int = 0
    throttled: int = 0
    failures: int = 0
    blocked: dict[str, float] = field(default_factory=dict)
    last_error: str | None = None

    def add(self, other: _Tally) -> None:
        """Add `other`'s counts; take its blocked tables and its error, if any."""
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.blocked.update(other.blocked)
        self.last_error = other.last_error or self.last_error

    def report(self) -> DrainReport:
        counts = {name: getattr(self, name) for name in _COUNTS}
        return DrainReport(**counts, blocked=dict(self.blocked), last_error=self.last_error)
