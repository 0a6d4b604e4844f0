"""The freshness part of `pulse demo`'s status line: a number per source, and a warning when overloaded.

Two figures, both in wall seconds (simulated seconds / ``--speed``):

- what waits: per source, the age of the oldest delivered event the pipeline has not
  processed yet (`shared.runtime.backlog`), the sources furthest behind first;
- what was processed: the lag p95 of the flow documents (record complete -> KPI), or,
  when nothing enqueued in the lag window is processed, how far behind it is at least.

Never "-": with nothing waiting the line says so, and beyond `OVERLOADED_S` it warns.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from shared.runtime.backlog import SourceBacklog
from shared.web.platform_health import PlatformHealth

__all__ = ["OVERLOADED_S", "freshness_text"]

OVERLOADED_S: Final = 5.0
"""Oldest waiting event older than this (wall seconds): the line warns that the pipeline is overloaded."""
_SHOWN: Final = 3


def freshness_text(health: PlatformHealth, backlog: Sequence[SourceBacklog], now: datetime, speed: float) -> str:
    """E.g. ``lag p95 <= 0.5 s | waiting 0`` or ``OVERLOADED: waiting 12,345 (txn 41.2 s, ...) | lag >= 60 s``."""
    ages = sorted(
        ((max(0.0, (now - b.oldest).total_seconds()) / speed, b.source) for b in backlog if b.oldest is not None),
        reverse=True,
    )
    waiting = sum(b.waiting for b in backlog)
    if waiting:
        shown = ", ".join(f"{source} {age:.1f} s" for age, source in ages[:_SHOWN])
        waits = f"waiting {waiting:,} ({shown})"
    else:
        waits = "waiting 0"
    if health.lag_p95_ms is not None:
        lag = f"lag p95 <= {health.lag_p95_ms / 1000 / speed:g} s"
    elif health.behind_ms is not None:
        lag = f"lag >= {health.behind_ms / 1000 / speed:.0f} s"
    elif health.lagged:
        lag = "lag p95 > 1 day"
    else:
        lag = "lag: no events in 5 min"
    overloaded = bool(ages) and ages[0][0] > OVERLOADED_S
    return f"{'OVERLOADED: ' if overloaded else ''}{waits} | {lag}"
