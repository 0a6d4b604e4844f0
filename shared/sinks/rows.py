"""What to push: snapshot rows for tiles, and additive delta rows that keep SUM exact under late corrections.

Snapshot rows (`kpi_snapshot`) carry today's KPIs of every chain / region / store
member as of a moment: ratios included, formulas from `shared.kpis.formulas`. They
are point-in-time values: a tile shows the newest row; summing snapshots is wrong.

Delta rows (`kpi_delta`) carry, for each changed minute rollup (scope, key, window),
the new integer counters minus the counters already enqueued for that minute. Summed
over any set of rows of one scope they give the exact counters, whatever late events
corrected in between; every ratio is then DIVIDE(SUM(numerator), SUM(denominator)).
Store rows are split by the store's region in that minute (one part almost always),
with the conversion numerator computed per part exactly as the region rollup does,
so SUM over a region's store rows equals the region's rollup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from shared.kpis.formulas import format_utc, kpi_row
from shared.kpis.state import CHAIN_KEY, Scope
from shared.rollups.query import backlog_by_scope, kpi_rows
from shared.rollups.segments import segment_parts, select, total, with_conversion
from shared.stores.port import DocumentStore

__all__ = [
    "DELTA_MEASURES",
    "SNAPSHOT_SCOPES",
    "BusinessCalendar",
    "Parts",
    "delta_parts",
    "delta_row",
    "delta_rows",
    "is_minute_rollup",
    "snapshot_rows",
    "tile_rows",
]

SNAPSHOT_SCOPES: Final[tuple[Scope, ...]] = ("chain", "region", "store")
DELTA_SCOPES: Final = frozenset({"store", "region", "chain", "channel"})

DELTA_MEASURES: Final[tuple[tuple[str, str], ...]] = (
    ("gross_sales_cents", "gross_cents"),
    ("refunds_cents", "refund_cents"),
    ("transactions", "sales"),
    ("refund_count", "refunds"),
    ("voids", "voids"),
    ("units", "units"),
    ("visitors", "visitors"),
    ("conv_transactions", "conv_sales"),
    ("orders_placed", "placed"),
    ("orders_completed", "completed"),
    ("orders_on_time", "on_time"),
    ("cycle_time_ms", "cycle_ms"),
    ("cancellations", "cancelled"),
)
"""(delta column, rollup counter). `net_sales_cents` is derived: gross - refunds."""

Parts = dict[str, dict[str, int]]
"""Part id -> counters (`DELTA_MEASURES` counter names) of one minute rollup."""


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Which business date is 'today' for a member: a store's own zone; above stores, the reporting zone."""

    store_zones: Mapping[str, str] = field(default_factory=dict)
    """Store id -> IANA time zone (e.g. from `ReferenceData.stores`); unknown stores use `reporting_zone`."""
    reporting_zone: str = "UTC"

    def __post_init__(self) -> None:
        for zone in {self.reporting_zone, *self.store_zones.values()}:
            ZoneInfo(zone)  # an unknown zone fails here, at start, not at the first snapshot

    def today(self, scope: Scope, key: str, now: datetime) -> date:
        """The business date of `key` at `now`."""
        zone = self.store_zones.get(key, self.reporting_zone) if scope == "store" else self.reporting_zone
        return now.astimezone(ZoneInfo(zone)).date()


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _snapshot_row(row: Mapping[str, Any], day: date, now: datetime) -> dict[str, Any]:
    return {
        "scope": row["scope"],
        "key": row["key"],
        "day": day.isoformat(),
        "net_sales": _number(row["net_sales"]),
        "transactions": row["transactions"],
        "aov": _number(row["aov"]),
        "upt": _number(row["upt"]),
        "conversion_rate": _number(row["conversion_rate"]),
        "visitors": row["visitors"],
        "on_time_rate": _number(row["on_time_rate"]),
        "open_backlog": row["open_backlog"],
        "overdue_backlog": row["overdue_backlog"],
        "as_of": row["as_of"],
        "snapshot_at": format_utc(now),
    }


def snapshot_rows(store: DocumentStore, now: datetime, calendar: BusinessCalendar) -> list[dict[str, Any]]:
    """One `kpi_snapshot` row per chain, region and store member for its current business day.

    Members known from the calendar (stores) or seen on the day before (regions, stores)
    get a row of zeros when nothing happened yet today, so a tile never shows yesterday.
    """
    out: list[dict[str, Any]] = []
    for scope in SNAPSHOT_SCOPES:
        known = set(calendar.store_zones) if scope == "store" else ({CHAIN_KEY} if scope == "chain" else set())
        days = {calendar.today(scope, key, now) for key in known} | {calendar.today("chain", CHAIN_KEY, now)}
        lo, hi = min(days) - timedelta(days=1), max(days) + timedelta(days=1)
        rows = kpi_rows(store, scope, "day", now, window_from=lo.isoformat(), window_to=hi.isoformat())
        today_rows = {r["key"]: r for r in rows if r["window"] == calendar.today(scope, r["key"], now).isoformat()}
        backlog: dict[str, tuple[int, int]] | None = None
        for key in sorted(known | {r["key"] for r in rows}):
            day = calendar.today(scope, key, now)
            row = today_rows.get(key)
            if row is None:
                backlog = backlog_by_scope(store, scope, now) if backlog is None else backlog
                row = kpi_row(scope, key, "day", day.isoformat(), {}, None, backlog.get(key, (0, 0)))
            out.append(_snapshot_row(row, day, now))
    return out


def tile_rows(snapshot: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `kpi_tiles` row of a snapshot: the chain's row without scope and key (one row, ~400 bytes)."""
    return [
        {k: v for k, v in row.items() if k not in ("scope", "key")}
        for row in snapshot
        if row["scope"] == "chain" and row["key"] == CHAIN_KEY
    ]


def is_minute_rollup(doc: Mapping[str, Any]) -> bool:
    """True for a KPI rollup document of minute grain (not a backlog or other document)."""
    if doc.get("part") is not None:
        return False  # a store minute's orders only: the minute is the sum of its parts in the store's hour
    return doc.get("grain") == "minute" and doc.get("scope") in DELTA_SCOPES and isinstance(doc.get("segments"), dict)


def _counters(state: Mapping[str, int]) -> dict[str, int]:
    return {counter: int(state.get(counter, 0)) for _, counter in DELTA_MEASURES}


def delta_parts(doc: Mapping[str, Any]) -> Parts:
    """The parts of a minute rollup: store minutes by region (``region|day``), other scopes one part ``*``."""
    segments = doc["segments"]
    if doc["scope"] != "store":
        return {"*": _counters(total(segments))}
    parts: Parts = {}
    for region in sorted({segment_parts(s)[0] for s in segments}):
        part = select(segments, region=region)
        days = sorted({segment_parts(s)[2] for s in part})
        day = days[0] if len(days) == 1 else ""  # a store's minute lies in one local day; "" if it ever did not
        parts[f"{region}|{day}"] = _counters(with_conversion(total(part)))
    return parts


def delta_rows(doc: Mapping[str, Any], previous: Parts, previous_v: int) -> list[dict[str, Any]]:
    """`kpi_delta` rows taking the counters from `previous` (as of version `previous_v`) to `doc`'s.

    A part that vanished (e.g. a store re-attributed to another region) is taken back
    to zero; parts whose counters did not change give no row.
    """
    scope, key, window, version = doc["scope"], doc["key"], doc["window"], doc["v"]
    current = delta_parts(doc)
    rows = []
    for part in sorted(set(current) | set(previous)):
        new, old = current.get(part, {}), previous.get(part, {})
        deltas = {column: new.get(c, 0) - old.get(c, 0) for column, c in DELTA_MEASURES}
        if not any(deltas.values()):
            continue
        rows.append(delta_row(scope, key, window, part, deltas, doc.get("as_of"), f"{previous_v}>{version}"))
    return rows


def delta_row(
    scope: str, key: str, window: str, part: str, counters: Mapping[str, int], as_of: str | None, version: str
) -> dict[str, Any]:
    """One `kpi_delta` row: `counters` by delta column (`DELTA_MEASURES`), id ``scope|key|window|part|version``."""
    region, day = part.split("|") if scope == "store" else (key if scope == "region" else "", "")
    row: dict[str, Any] = {
        "row_id": f"{scope}|{key}|{window}|{part}|{version}",
        "scope": scope,
        "key": key,
        "region": region,
        "day": day,
        "window": window,
        "as_of": as_of,
    }
    row.update({column: int(counters.get(column, 0)) for column, _ in DELTA_MEASURES})
    row["net_sales_cents"] = row["gross_sales_cents"] - row["refunds_cents"]
    return row
