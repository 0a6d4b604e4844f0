"""What a summary says when a run went wrong for a reason the user can fix with an option."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["TIME_HINT_SHARE", "time_hint"]

TIME_HINT_SHARE: Final = 0.10
"""More than this share of a run dead-lettered for time reasons earns a hint."""


def time_hint(received: int, by_reason: Mapping[str, int], now_given: bool) -> str | None:
    """Why so many events were refused for their time, and what to pass; None below the threshold."""
    future, late = by_reason.get("future_timestamp", 0), by_reason.get("too_late", 0)
    if not received or (future + late) <= TIME_HINT_SHARE * received:
        return None
    share = f"{future + late:,} of {received:,} events ({(future + late) / received:.0%})"
    clock = "--now" if now_given else "the clock (processing time)"
    if future >= late:
        return (
            f"{share} were dead-lettered because their event time is more than 5 minutes after {clock}: "
            "ingest with --now set at or after the stream's last event time, or generate without --start "
            "so that the stream ends at the current time"
        )
    return (
        f"{share} were dead-lettered as too_late: their event time is more than 7 days before {clock}; "
        "ingest with --now shortly after the events, or generate with a recent --start (or none: the stream "
        "then ends at the current time)"
    )
