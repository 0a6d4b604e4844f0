"""The live page's data: one JSON snapshot of tiles, a 60-minute series and a breakdown table.

A pure read of the document store at an injected `now`; the local server, the SSE
stream and the Function App's HTTP API all serve this one function's output::

    body = snapshot_json(store, now, region="DE_NORTH", reference=pipeline.reference)

Focus: no filter -> the chain; ``region`` -> that region; ``store_id`` -> that store.
Tiles are the focus's current business day (see `directory.py` for whose "today");
the series is the focus's last 60 minutes (the current one included), labelled in
the focus's business time zone, with the minutes before any data of the day marked as gaps; the
breakdown lists the regions of the chain, or the stores of the focused region (with
the focused store marked), each at its own current day.

With an `Access` (the Function App passes the signed-in caller's), the focus must be
in the caller's scope (`Forbidden` otherwise) and the breakdown and the filter lists
hold only what the caller may read, so the page offers nothing else; ``filters.chain``
tells the page whether "All regions" is on offer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any, Final
from zoneinfo import ZoneInfo

import orjson

from shared.access import Access
from shared.alerts.panel import alert_panel
from shared.kpis.formulas import format_utc, json_default, window_start
from shared.kpis.state import CHAIN_KEY, Scope
from shared.reference import ReferenceData, demo_reference_dir, load_reference
from shared.reference.targets import ADDITIVE_KPIS
from shared.reference.trading import trading_status
from shared.stores.port import DocumentStore
from shared.web.directory import Directory
from shared.web.last_week import Comparison, same_time_last_week
from shared.web.platform_health import PlatformHealth, platform_health
from shared.web.reads import UNASSIGNED, Backlog, read_backlog, read_rows
from shared.web.tiles import age_seconds, health_tiles, kpi_tiles, parse_stamp

__all__ = ["SERIES_MINUTES", "UnknownFilter", "snapshot", "snapshot_json"]

SERIES_MINUTES: Final = 60
_BREAKDOWN_FIELDS: Final = (
    "net_sales",
    "transactions",
    "aov",
    "conversion_rate",
    "on_time_rate",
    "open_backlog",
    "overdue_backlog",
)


class UnknownFilter(ValueError):
    """A region or store filter that names nothing current; `parameter` is ``region`` or ``store``."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


@cache
def _demo_reference() -> ReferenceData:
    return load_reference(demo_reference_dir())


def snapshot(
    store: DocumentStore,
    now: datetime,
    region: str | None = None,
    store_id: str | None = None,
    *,
    reference: ReferenceData | None = None,
    clock_rate: float = 1.0,
    access: Access | None = None,
    live_from: datetime | None = None,
    health: PlatformHealth | None = None,
) -> dict[str, Any]:
    """The page's data at `now` (money as Decimal: serialise with `snapshot_json` or `json_default`).

    `reference` defaults to the shipped demo set; `clock_rate` (simulated seconds per
    wall second, the demo's speed-up) lets the page turn ages into wall time. Raises
    `UnknownFilter` for a region or store that is not current, or a store outside `region`;
    `Forbidden` for a focus outside `access` (None: the embedded host, everything). `live_from`:
    the health tiles count from then (see `platform_health`). `health`: those tiles' numbers
    when the caller already has them (the live page's cache reads them at most every few seconds).
    """
    reference = reference or _demo_reference()
    directory = Directory.from_reference(reference, now)
    scope, key, label = _focus(directory, region or None, store_id or None)
    access = access or Access.everything()
    access.check(scope, None if scope == "chain" else key)
    day = directory.business_date(scope, key, now)
    zone = directory.zone_of(scope, key)
    targets = {kpi: value for (s, k, kpi), value in reference.targets.items() if (s, k) == (scope, key)}
    breakdown_scope: Scope = "region" if scope == "chain" else "store"
    backlogs = read_backlog(store, reference.stores.keys(), now, (scope, breakdown_scope))
    (row,) = read_rows(store, scope, "day", [(key, day)], now, backlogs[scope]).values()
    breakdown_backlog = backlogs[breakdown_scope]
    return {
        "now": format_utc(now),
        "clock_rate": clock_rate,
        "currency": reference.reporting_currency,
        "filter": {"region": region or None, "store": store_id or None},
        "focus": {"scope": scope, "key": key, "label": label, "business_date": day},
        "tiles": _compared(kpi_tiles(row, now), same_time_last_week(store, scope, key, zone, now), targets)
        + _health_tiles(health if health is not None else platform_health(store, now, live_from), now, access),
        "series": _series(store, scope, key, now, zone, row),
        "breakdown": {
            "scope": breakdown_scope,
            "rows": [
                row
                for row in _breakdown(store, directory, breakdown_scope, scope, key, now, breakdown_backlog)
                if access.may_read(breakdown_scope, row["key"])
            ],
        },
        "trading": _trading(reference, now),
        "alerts": _alerts(store, directory, scope, key, now),
        "filters": {
            "chain": access.chain,
            "regions": [r for r in directory.regions if access.may_read("region", r)],
            "stores": [
                {"id": s.store_id, "name": s.name, "region": s.region}
                for s in directory.stores
                if access.may_read("store", s.store_id)
            ],
        },
    }


def snapshot_json(
    store: DocumentStore,
    now: datetime,
    region: str | None = None,
    store_id: str | None = None,
    *,
    reference: ReferenceData | None = None,
    clock_rate: float = 1.0,
    access: Access | None = None,
    live_from: datetime | None = None,
    health: PlatformHealth | None = None,
) -> bytes:
    """`snapshot` as compact UTF-8 JSON, money as exact JSON numbers (``12.30``)."""
    data = snapshot(
        store,
        now,
        region,
        store_id,
        reference=reference,
        clock_rate=clock_rate,
        access=access,
        live_from=live_from,
        health=health,
    )
    return orjson.dumps(data, default=json_default)


def _compared(tiles: list[dict[str, Any]], comparison: Comparison, targets: dict[str, Decimal]) -> list[dict[str, Any]]:
    """Sales and transactions tiles with ``vs_last_week`` (`shared.web.last_week`); tiles with a target, ``target``.

    ``target``: the daily target, and for additive KPIs the ``share`` reached so far (4 places), for
    ratios whether today's value ``met`` it (None while the ratio has no value).
    """
    for tile in tiles:
        fields = comparison.tile_fields(tile["id"])
        if fields is not None:
            tile["vs_last_week"] = fields
        target = targets.get(tile["id"])
        if target is not None:
            tile["target"] = _target(tile["id"], tile["value"], target)
    return tiles


def _target(kpi: str, value: Any, target: Decimal) -> dict[str, Any]:
    if kpi in ADDITIVE_KPIS:
        reached = Decimal(value or 0)
        share = (reached / target).quantize(Decimal("0.0001"), ROUND_HALF_UP) if target else None
        return {"value": target, "share": share, "met": None}
    return {"value": target, "share": None, "met": None if value is None else Decimal(value) >= target}


def _trading(reference: ReferenceData, now: datetime) -> dict[str, Any]:
    """Open physical stores now; when none is open, each region's next opening (UTC and local wall time)."""
    status = trading_status(reference, now)
    return {
        "open_stores": status.open_stores,
        "physical_stores": status.physical_stores,
        "all_closed": status.all_closed,
        "next_openings": [
            {
                "region": o.region,
                "at": format_utc(o.at),
                "local": o.local.strftime("%a %H:%M"),
                "zone": str(o.local.tzinfo),
            }
            for o in status.next_openings
        ],
    }


def _focus(directory: Directory, region: str | None, store_id: str | None) -> tuple[Scope, str, str]:
    if store_id is not None:
        info = directory.store(store_id)
        if info is None:
            raise UnknownFilter("store", f"unknown store {store_id!r}")
        if region is not None and info.region != region:
            raise UnknownFilter("store", f"store {store_id!r} is in region {info.region!r}, not {region!r}")
        return "store", store_id, f"{info.store_id} {info.name}"
    if region is not None:
        if region not in directory.region_zones:
            raise UnknownFilter("region", f"unknown region {region!r}")
        return "region", region, f"Region {region}"
    return "chain", CHAIN_KEY, "Whole chain"


def _health_tiles(health: PlatformHealth, now: datetime, access: Access) -> list[dict[str, Any]]:
    """Pipeline-wide rates and lags; their chain-wide message counts only for a caller who sees the chain."""
    tiles = health_tiles(health, now)
    if access.chain:
        return tiles
    return [{**tile, "detail": "pipeline-wide"} for tile in tiles]


def _series(
    store: DocumentStore, scope: Scope, key: str, now: datetime, zone: str, day: dict[str, Any]
) -> dict[str, Any]:
    """The last 60 minutes, labelled in the focus's business time zone.

    A minute is a ``gap`` (drawn as a gap, not a zero) when nothing was ever recorded up to it
    today: no document for it or any earlier minute of the series, and the day's totals are all
    inside the series (so no earlier minute of the day had data either).
    """
    last = parse_stamp(window_start("minute", now))
    assert last is not None
    starts = [last - timedelta(minutes=n) for n in range(SERIES_MINUTES - 1, -1, -1)]
    windows = [window_start("minute", start) for start in starts]
    rows = read_rows(store, scope, "minute", [(key, window) for window in windows], now)
    ordered = [rows[(key, window)] for window in windows]
    all_today_shown = sum(r["transactions"] for r in ordered) == day["transactions"] and sum(
        (r["net_sales"] for r in ordered), Decimal(0)
    ) == Decimal(day["net_sales"])
    first_data = next((i for i, r in enumerate(ordered) if r["as_of"] is not None), len(ordered))
    local = ZoneInfo(zone)
    minutes = [
        {
            "window": window,
            "local": start.astimezone(local).strftime("%H:%M"),
            "net_sales": row["net_sales"],
            "transactions": row["transactions"],
            "gap": all_today_shown and i < first_data,
        }
        for i, (window, start, row) in enumerate(zip(windows, starts, ordered, strict=True))
    ]
    return {"grain": "minute", "zone": zone, "minutes": minutes}


def _breakdown(
    store: DocumentStore,
    directory: Directory,
    level: Scope,
    focus: Scope,
    key: str,
    now: datetime,
    backlog: Backlog,
) -> list[dict[str, Any]]:
    if level == "region":
        members = [(r, r) for r in directory.regions]
        if UNASSIGNED not in directory.region_zones:  # shown when the pipeline met stores it does not know
            members.append((UNASSIGNED, "Unassigned stores"))
        selected = None
    else:
        region = key if focus == "region" else _region_of(directory, key)
        members = [(s.store_id, f"{s.store_id} {s.name}") for s in directory.stores_in(region)]
        selected = key if focus == "store" else None
    days = {member: directory.business_date(level, member, now) for member, _ in members}
    rows = read_rows(store, level, "day", list(days.items()), now, backlog)
    out = []
    for member, label in members:
        row = rows[(member, days[member])]
        if member == UNASSIGNED and row["as_of"] is None and not backlog.get(member):
            continue
        entry: dict[str, Any] = {
            "key": member,
            "label": label,
            "business_date": days[member],
            "selected": member == selected,
        }
        entry.update({name: row[name] for name in _BREAKDOWN_FIELDS})
        entry.update(as_of=row["as_of"], age_s=age_seconds(parse_stamp(row["as_of"]), now))
        out.append(entry)
    return out


def _alerts(store: DocumentStore, directory: Directory, scope: Scope, key: str, now: datetime) -> dict[str, Any]:
    """The alert panel of the focus (`shared.alerts.panel`)."""
    stores = {s.store_id for s in directory.stores_in(key)} if scope == "region" else None
    return alert_panel(store, now, scope, key, stores)


def _region_of(directory: Directory, store_id: str) -> str:
    info = directory.store(store_id)
    return info.region if info is not None else ""
