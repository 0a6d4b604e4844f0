"""Limits that keep hostile input cheap to reject. Defaults are safe; all configurable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

__all__ = ["Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    """What a single event may be, and how far from processing time its event time may lie."""

    max_body_bytes: int = 1024 * 1024
    """Event Hubs Premium allows 1 MiB messages; Standard 1 MB. Larger is refused unread."""
    max_depth: int = 32
    """The deepest contract nests 3 levels; 32 leaves room and stops stack bombs."""
    max_string_chars: int = 8192
    """The longest contract string (`message`) is 8 KiB."""
    accepted_lateness: timedelta = timedelta(days=7)
    """Older events are dead-lettered as too late (docs/contracts.md default)."""
    max_future: timedelta = timedelta(minutes=5)
    """Event times further ahead of processing time are invalid (clock skew allowance)."""

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_depth", "max_string_chars"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.accepted_lateness <= timedelta(0) or self.max_future < timedelta(0):
            raise ValueError("accepted_lateness must be > 0 and max_future >= 0")
