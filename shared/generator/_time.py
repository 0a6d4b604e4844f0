"""Epoch-millisecond helpers: fast RFC 3339 formatting, the start of a UTC day."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Final

__all__ = ["DAY_MS", "HOUR_MS", "MINUTE_MS", "TimestampFormatter", "start_of_utc_day", "to_ms"]

MINUTE_MS: Final = 60_000
HOUR_MS: Final = 3_600_000
DAY_MS: Final = 86_400_000


@cache
def _suffix_table() -> tuple[str, ...]:
    """``SS.mmmZ`` for every millisecond of a minute (built once per process)."""
    return tuple(f"{ms // 1000:02d}.{ms % 1000:03d}Z" for ms in range(MINUTE_MS))


class TimestampFormatter:
    """Formats epoch milliseconds as ``2026-11-26T10:05:03.120Z``, caching minute prefixes.

    A timestamp is a cached minute prefix plus one of 60,000 precomputed
    ``SS.mmmZ`` suffixes: two lookups and a concatenation on the hot path.
    """

    __slots__ = ("_prefixes", "_suffixes")

    def __init__(self) -> None:
        self._prefixes: dict[int, str] = {}
        self._suffixes = _suffix_table()

    def _prefix(self, minute: int) -> str:
        prefix = self._prefixes.get(minute)
        if prefix is None:
            if len(self._prefixes) > 20_000:
                self._prefixes.clear()
            prefix = datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%dT%H:%M:")
            self._prefixes[minute] = prefix
        return prefix

    def ms(self, epoch_ms: int) -> str:
        """Millisecond precision: ``...T10:05:03.120Z``."""
        minute, rest = divmod(epoch_ms, MINUTE_MS)
        prefix = self._prefixes.get(minute) or self._prefix(minute)
        return prefix + self._suffixes[rest]

    def s(self, epoch_ms: int) -> str:
        """Second precision (milliseconds dropped): ``...T10:05:03Z``."""
        minute, rest = divmod(epoch_ms, MINUTE_MS)
        return f"{self._prefix(minute)}{rest // 1000:02d}Z"


def to_ms(ts: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    if ts.tzinfo is None:
        raise ValueError("timestamp must carry a UTC offset")
    return round(ts.timestamp() * 1000)


def start_of_utc_day(now: datetime) -> datetime:
    """Midnight UTC of `now`'s UTC date."""
    utc = now.astimezone(UTC)
    return utc.replace(hour=0, minute=0, second=0, microsecond=0)
