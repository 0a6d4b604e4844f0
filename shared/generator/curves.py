"""Demand shapes: intraday, weekday and seasonal factors for stores and online shops.

Pure data, computed once at import. Factors are relative (mean about 1 over the
trading day), so a store's daily volume is set by its size, not by the curve.
"""

from __future__ import annotations

import math
from typing import Final

__all__ = [
    "MONTH_FACTOR",
    "ONLINE_INTRADAY",
    "ONLINE_WEEKDAY",
    "STORE_INTRADAY",
    "STORE_WEEKDAY",
]


def _normalised(values: list[float], lo: int, hi: int) -> list[float]:
    mean = sum(values[lo:hi]) / (hi - lo)
    return [v / mean for v in values]


def _store_shape(minute: int) -> float:
    """Footfall in a high-street store: a lunch peak and a bigger late-afternoon peak."""
    h = minute / 60
    return 0.45 + 0.75 * math.exp(-(((h - 12.75) / 1.2) ** 2)) + 1.0 * math.exp(-(((h - 17.25) / 1.5) ** 2))


def _online_shape(minute: int) -> float:
    """Sessions online: a night dip around 4 am, a lunch bump and an evening peak."""
    h = minute / 60
    return (
        0.10
        + 0.45 * math.exp(-(((h - 12.5) / 2.5) ** 2))
        + 1.0 * math.exp(-(((h - 20.75) / 2.2) ** 2))
        + 0.35 * math.exp(-(((h + 3.25) / 2.2) ** 2))  # the evening peak's tail after midnight
    )


STORE_INTRADAY: Final = _normalised([_store_shape(m) for m in range(1440)], 9 * 60, 20 * 60)
"""Relative footfall per local minute of the day (mean 1 over 09:00-20:00)."""

ONLINE_INTRADAY: Final = _normalised([_online_shape(m) for m in range(1440)], 0, 1440)
"""Relative sessions per local minute of the day (mean 1 over the day)."""

STORE_WEEKDAY: Final = (0.82, 0.80, 0.86, 0.95, 1.12, 1.45, 0.75)
"""Monday..Sunday: Saturday is the busiest day, Sunday (where open) is short and quiet."""

ONLINE_WEEKDAY: Final = (1.05, 1.0, 0.98, 0.97, 0.92, 0.90, 1.18)
"""Monday..Sunday: online peaks on Sunday evening."""

MONTH_FACTOR: Final = (0.86, 0.82, 0.92, 0.95, 0.97, 0.97, 1.0, 0.97, 0.95, 1.0, 1.10, 1.30)
"""January..December: sales months, Black Friday and Christmas."""
