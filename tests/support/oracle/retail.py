"""Retail KPI rows from accepted events, deliberately plain: the oracle's business half.

Written from contracts.md ("KPI definitions"); where it is silent, from the choices the
product documents (docs/engine.md, the notes of `shared/kpis/recompute.py`):

- a store event belongs to its store as of the event time (valid_from <= t < valid_to):
  its region and channel attribute, and its local business date in the store's zone;
  an unknown store counts under region `UNASSIGNED`, channel `web`/`app` for WEB/APP
  else `store`, and its day is the UTC date;
- minute and hour windows are UTC; day is that local business date; the chain is `ALL`;
- an order is identified by (store_id, order_id); its statuses are ordered by
  (status_ts, event_id); it is placed at its first `placed`, completed at its first
  `shipped`/`ready_for_pickup`, cancelled at its first `cancelled`, and each fact counts
  in the windows and store of the status event that defines it; cycle = completion
  status_ts - order_placed_ts of that event, in whole milliseconds (floored);
- conversion: a store's sales count toward conversion in a window only if the store
  has a footfall report there; above store level, per store part of the member;
- backlog: orders placed and neither completed nor cancelled, at the store of the
  order's latest status; overdue when that status's promised_ts < now.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from zoneinfo import ZoneInfo

from tests.support.oracle.accept import Accepted
from tests.support.oracle.reference import OracleReference

__all__ = ["KPIS", "Place", "backlog", "empty_row", "kpi_rows", "place_of", "rounded"]

STORE_FIELD = {"txn": "merchant_id", "traffic": "store_id", "fulfillment": "store_id"}
COMPLETIONS = ("shipped", "ready_for_pickup")


@dataclass(frozen=True)
class Place:
    """Where and when an event counts."""

    store_id: str
    region: str
    channel: str
    minute: str
    hour: str
    day: str


def rounded(numerator: int | Decimal, denominator: int | Decimal, places: int) -> Decimal | None:
    """numerator / denominator to `places` decimals, half away from zero; None when the denominator is 0."""
    if denominator == 0:
        return None
    with localcontext() as context:
        context.prec = 80
        return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def place_of(reference: OracleReference, store_id: str, at: datetime) -> Place:
    """The store, region, channel and windows of an event of `store_id` at instant `at`."""
    utc = at.astimezone(UTC)
    version = reference.store(store_id, utc)
    if version is None:
        region, channel, local_day = "UNASSIGNED", {"WEB": "web", "APP": "app"}.get(store_id, "store"), utc.date()
    else:
        region, channel = version.region, version.channel
        local_day = utc.astimezone(ZoneInfo(version.timezone)).date()
    return Place(
        store_id,
        region,
        channel,
        utc.strftime("%Y-%m-%dT%H:%M:00Z"),
        utc.strftime("%Y-%m-%dT%H:00:00Z"),
        date.isoformat(local_day),
    )


def _orders(events: list[Accepted]) -> dict[tuple[str, str], list[Accepted]]:
    orders: dict[tuple[str, str], list[Accepted]] = defaultdict(list)
    for event in events:
        if event.source == "fulfillment":
            orders[(event.body["store_id"], event.body["order_id"])].append(event)
    for statuses in orders.values():
        statuses.sort(key=lambda e: (e.event_time, e.event_id))
    return orders


def _first(statuses: list[Accepted], wanted: tuple[str, ...]) -> Accepted | None:
    for status in statuses:
        if status.body["status"] in wanted:
            return status
    return None


def _facts(events: list[Accepted]) -> list[tuple[Accepted, dict[str, int]]]:
    """(defining event, counters) for every counted fact."""
    facts: list[tuple[Accepted, dict[str, int]]] = []
    for event in events:
        if event.source == "txn":
            kind = event.body["txn_type"]
            if kind == "sale":
                units = sum(line["quantity"] for line in event.body["lines"])
                facts.append((event, {"gross": event.cents or 0, "sales": 1, "units": units}))
            elif kind == "refund":
                facts.append((event, {"refund": event.cents or 0, "refunds": 1}))
            else:
                facts.append((event, {"voids": 1}))
        elif event.source == "traffic":
            facts.append((event, {"visitors": event.body["visitors"], "reports": 1}))
    for statuses in _orders(events).values():
        placed = _first(statuses, ("placed",))
        if placed is not None:
            facts.append((placed, {"placed": 1}))
        done = _first(statuses, COMPLETIONS)
        if done is not None:
            cycle_us = (done.event_time - done.ts("order_placed_ts")) // _MICROSECOND
            on_time = int(done.event_time <= done.ts("promised_ts"))
            facts.append((done, {"completed": 1, "on_time": on_time, "cycle_ms": cycle_us // 1000}))
        cancelled = _first(statuses, ("cancelled",))
        if cancelled is not None:
            facts.append((cancelled, {"cancelled": 1}))
    return facts


_MICROSECOND = datetime(2000, 1, 1, 0, 0, 0, 1) - datetime(2000, 1, 1)


def _place(reference: OracleReference, event: Accepted) -> Place:
    return place_of(reference, event.body[STORE_FIELD[event.source]], event.event_time)


def _row(totals: dict[str, int]) -> dict[str, object]:
    sales, gross, refund = totals.get("sales", 0), totals.get("gross", 0), totals.get("refund", 0)
    completed, placed = totals.get("completed", 0), totals.get("placed", 0)
    net = gross - refund
    return {
        "gross_sales": Decimal(gross) / 100,
        "refunds": Decimal(refund) / 100,
        "net_sales": Decimal(net) / 100,
        "transactions": sales,
        "voids": totals.get("voids", 0),
        "units": totals.get("units", 0),
        "aov": rounded(Decimal(net) / 100, sales, 2),
        "upt": rounded(totals.get("units", 0), sales, 4),
        "refund_rate": rounded(totals.get("refunds", 0), sales, 4),
        "conversion_rate": rounded(totals.get("conv_sales", 0), totals.get("visitors", 0), 4),
        "visitors": totals.get("visitors", 0),
        "orders_placed": placed,
        "orders_completed": completed,
        "on_time_rate": rounded(totals.get("on_time", 0), completed, 4),
        "avg_cycle_time_s": rounded(Decimal(totals.get("cycle_ms", 0)) / 1000, completed, 3),
        "cancellations": totals.get("cancelled", 0),
        "cancellation_rate": rounded(totals.get("cancelled", 0), placed, 4),
    }


def empty_row() -> dict[str, object]:
    """The row of a window that no counted fact touches."""
    return _row({})


KPIS = tuple(empty_row())
"""The windowed KPIs of a row (contracts.md), without identity, `as_of` and the backlog."""


RowKey = tuple[str, str, str, str]
"""(scope, key, grain, window)."""


def kpi_rows(events: list[Accepted], reference: OracleReference) -> dict[RowKey, dict[str, object]]:
    """Every row with a counted fact: (scope, key, grain, window) -> KPI values."""
    # Per (member scope, member key, store, grain, window): a store's part of a member.
    parts: dict[tuple[str, str, str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for event, counters in _facts(events):
        place = _place(reference, event)
        for grain, window in (("minute", place.minute), ("hour", place.hour), ("day", place.day)):
            # The chain is the sum of its regions: its parts are a store's part of a region.
            members = [
                ("store", place.store_id, place.store_id),
                ("region", place.region, place.store_id),
                ("channel", place.channel, place.store_id),
                ("chain", "ALL", f"{place.store_id}|{place.region}"),
            ]
            for scope, key, part_key in members:
                part = parts[(scope, key, part_key, grain, window)]
                for name, value in counters.items():
                    part[name] += value
    rows: dict[RowKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (scope, key, _store, grain, window), part in parts.items():
        total = rows[(scope, key, grain, window)]
        for name, value in part.items():
            total[name] += value
        total["conv_sales"] += part.get("sales", 0) if part.get("reports", 0) > 0 else 0
    return {row_key: _row(totals) for row_key, totals in sorted(rows.items())}


def backlog(
    events: list[Accepted], reference: OracleReference, now: datetime
) -> dict[tuple[str, str], tuple[int, int]]:
    """(open, overdue) orders per (scope, key) as of `now`; members without an open order are left out."""
    figures: dict[tuple[str, str], tuple[int, int]] = {}
    for statuses in _orders(events).values():
        placed = _first(statuses, ("placed",)) is not None
        if not placed or _first(statuses, COMPLETIONS) or _first(statuses, ("cancelled",)):
            continue
        latest = statuses[-1]
        overdue = int(latest.ts("promised_ts") < now)
        place = _place(reference, latest)
        for member in (("store", place.store_id), ("region", place.region), ("channel", place.channel)):
            opened, late = figures.get(member, (0, 0))
            figures[member] = (opened + 1, late + overdue)
        opened, late = figures.get(("chain", "ALL"), (0, 0))
        figures[("chain", "ALL")] = (opened + 1, late + overdue)
    return figures
