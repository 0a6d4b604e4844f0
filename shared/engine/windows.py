"""Window starts by event time: UTC minute and hour, UTC day, as stable strings (cached)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["day_of", "epoch_ms", "epoch_us", "hour_of", "minute_at", "minute_of", "parse_window"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_US = timedelta(microseconds=1)
_MINUTES: dict[int, str] = {}
_CACHE_LIMIT = 200_000


def minute_of(ts: datetime) -> str:
    """UTC minute start of `ts`, e.g. ``2026-11-26T10:05:00Z``."""
    return minute_at(int(ts.timestamp() // 60))


def minute_at(minute: int) -> str:
    """UTC minute start of the `minute`-th minute since the epoch (`minute_of` for a known index)."""
    text = _MINUTES.get(minute)
    if text is None:
        if len(_MINUTES) >= _CACHE_LIMIT:
            _MINUTES.clear()
        text = _MINUTES[minute] = datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%dT%H:%M:00Z")
    return text


def hour_of(minute_window: str) -> str:
    """The UTC hour window containing a minute window (string arithmetic, no parsing)."""
    return minute_window[:14] + "00:00Z"


def day_of(ts: datetime) -> str:
    """UTC date of `ts` as ``YYYY-MM-DD``."""
    return minute_of(ts)[:10]


def epoch_ms(ts: datetime) -> int:
    """Milliseconds since the epoch, floored, in exact integer arithmetic."""
    return (ts - _EPOCH) // _MS


def parse_window(window: str) -> datetime:
    """Inverse of `minute_of` / `hour_of`."""
    return datetime.fromisoformat(window.replace("Z", "+00:00"))


def epoch_us(ts: datetime) -> int:
    """Microseconds since the epoch, exactly."""
    return (ts - _EPOCH) // _US
