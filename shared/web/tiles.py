"""The live page's tiles: one KPI each, with its value, how to show it, and how fresh it is.

Values are exactly those of the KPI row (`shared.kpis.formulas`), so a tile equals
``pulse kpis`` for the same store, scope, day and `now`. Every tile carries the
``as_of`` of the data behind it and its age at `now` in seconds, so the page can
say "updated 0.8 s ago" and keep counting between updates.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Literal

from shared.kpis.formulas import format_utc
from shared.web.platform_health import DEAD_LETTER_MINUTES, LAG_MINUTES, PlatformHealth
from shared.wording import count_of

__all__ = ["KPI_TILES", "TileKind", "age_seconds", "health_tiles", "kpi_tiles", "parse_stamp"]

TileKind = Literal["money", "count", "ratio", "percent", "lag_ms", "behind_ms"]
"""How the page formats a value: currency, integer, 2-decimal ratio, percentage of a 0..1 ratio, lag bound
(``<= 1 s``), lag floor of an overloaded pipeline (``>= 42 s``)."""

KPI_TILES: Final[tuple[tuple[str, str, TileKind], ...]] = (
    ("net_sales", "Net sales", "money"),
    ("transactions", "Transactions", "count"),
    ("aov", "Average order value", "money"),
    ("upt", "Units per transaction", "ratio"),
    ("conversion_rate", "Conversion", "percent"),
    ("visitors", "Visitors", "count"),
    ("on_time_rate", "On-time fulfilment", "percent"),
    ("open_backlog", "Open orders", "count"),
    ("overdue_backlog", "Overdue orders", "count"),
)
"""(KPI row field, label, kind) of the business tiles, in page order."""


_BEHIND: Final = (
    f"overloaded: nothing enqueued in the last {LAG_MINUTES} min is processed yet; at least this far behind"
)


def parse_stamp(value: str | None) -> datetime | None:
    """An RFC 3339 UTC stamp (``...Z``) as an aware datetime; None stays None."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def age_seconds(as_of: datetime | None, now: datetime) -> float | None:
    """Seconds from `as_of` to `now` (never negative, 3 decimals); None without `as_of`."""
    if as_of is None:
        return None
    return round(max(0.0, (now - as_of).total_seconds()), 3)


def _tile(
    tile_id: str, label: str, kind: TileKind, value: Any, as_of: datetime | None, now: datetime, detail: str
) -> dict[str, Any]:
    return {
        "id": tile_id,
        "label": label,
        "kind": kind,
        "value": value,
        "as_of": None if as_of is None else format_utc(as_of),
        "age_s": age_seconds(as_of, now),
        "detail": detail,
    }


def kpi_tiles(row: Mapping[str, Any], now: datetime) -> list[dict[str, Any]]:
    """The business tiles of one day KPI row (as `kpi_rows` returns it)."""
    as_of = parse_stamp(row.get("as_of"))
    details = {
        "aov": "net sales / transactions",
        "upt": "units / transactions",
        "conversion_rate": "transactions / visitors of stores that count visitors",
        "on_time_rate": "completed by the promised time",
        "open_backlog": "placed, not yet shipped, ready or cancelled",
        "overdue_backlog": "open orders past their promise",
    }
    return [
        _tile(name, label, kind, row.get(name), as_of, now, details.get(name, "")) for name, label, kind in KPI_TILES
    ]


def health_tiles(health: PlatformHealth, now: datetime) -> list[dict[str, Any]]:
    """Dead-letter rate and lag p50 / p95 (pipeline-wide)."""
    dead_as_of, lag_as_of = parse_stamp(health.dead_letter_as_of), parse_stamp(health.lag_as_of)
    dead_detail = f"{health.dead_lettered:,} of {count_of(health.received, 'message')}, last {DEAD_LETTER_MINUTES} min"
    lag_detail = (
        f"{count_of(health.lagged, 'event')}, last {LAG_MINUTES} min; door counts from the end of their minute,"
        " cost from the end of their hour"
    )
    overflow = health.lagged > 0
    lags = [("lag_p50_ms", "Lag p50 (record complete to KPI)", health.lag_p50_ms)]
    lags.append(("lag_p95_ms", "Lag p95 (record complete to KPI)", health.lag_p95_ms))
    tiles = [
        _tile("dead_letter_rate", "Dead-letter rate", "percent", health.dead_letter_rate, dead_as_of, now, dead_detail)
    ]
    for tile_id, label, value in lags:
        if health.behind_ms is not None:  # overloaded: a number and a warning, not an empty tile
            behind = _tile(tile_id, label, "behind_ms", health.behind_ms, lag_as_of, now, _BEHIND)
            tiles.append({**behind, "warning": True})
            continue
        detail = lag_detail if value is not None or not overflow else "over a day"
        tiles.append(_tile(tile_id, label, "lag_ms", value, lag_as_of, now, detail))
    return tiles
