"""The brute-force oracle: every retail KPI row recomputed from the accepted events alone.

Independent of the engine on purpose: no views, no increments, no change feed; just
the definitions of `docs/contracts.md` applied to a set of enriched events. The engine is
exact when, after the stream goes quiet, its rows equal these.

Choices where docs/contracts.md is silent (the engine must make the same ones):

- Duplicates: events are de-duplicated by (source, event_id), keeping the first
  occurrence; an event's source is its contract type (each type has one source).
- Platform figures: `recompute_platform` (choices in `_platform.py`).
- Windows: minute and hour are UTC buckets of the event time; day is the event's
  store-local `business_date`. A counted order fact (placed, completion,
  cancellation) takes the windows, store, region and channel of the one status
  event that defines it.
- Attribution: the region and channel of an event are those of its store as of the
  event time (`store.region`, `store.channel`), so a store that changes region is
  split by event. An inferred store is counted under the region key `UNASSIGNED`.
  The chain key is `ALL`. Platform events (no store) carry no retail KPI.
- Row set: a row exists for every (scope, key, grain, window) of every accepted retail
  event, even when the event adds no counter (e.g. a lone `picked` status gives a
  row of zeros); a window no event touches has no row (read it as all zeros).
- Units are counted over sales only; voids carry no money and no units.
- Conversion: a store "counted visitors" in a window when it has at least one
  footfall report there (`traffic_reports > 0`, even of 0 visitors). Its conversion
  numerator is then its sales in that window, else 0 (`store_conversion_sales`).
  A region's (channel's) numerator is the sum over its stores of that rule applied to
  the store's part of the region (channel) at the same grain and window, i.e. to the
  store's events attributed to that region; the chain's is the sum of its regions'.
  The denominator is the sum of visitors (stores without a counter add 0 to it). The
  two readings differ only for a store that changes region within one window.
- Fulfillment, by `order_id` (ids are unique across stores): status events are
  ordered by (status_ts, event_id), so a tie is broken by the smaller event_id.
  An order is placed once, at its earliest `placed`; completed once, at its first
  `shipped`/`ready_for_pickup`; cancelled once, at its earliest `cancelled`. A
  completion is counted even without a `placed` event; an order may be both
  completed and cancelled. On time = completion `status_ts <= promised_ts` of the
  completion event; cycle = completion `status_ts - order_placed_ts` of the
  completion event, in whole milliseconds (floored; exact for ms timestamps).
- Backlog "as of now": open = orders with a `placed` event and no completion and no
  cancellation event, whatever their arrival order; it is attributed to the store
  (and its region/channel) of the order's latest status event, and overdue when that
  event's `promised_ts < now`. Every scope member holding the latest event of a
  placed order is listed, with (0, 0) when none of its orders is open.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from shared.contracts import Footfall, OrderStatus, Transaction
from shared.kpis._dedupe import dedupe
from shared.kpis._orders import cycle_ms, on_time, order_histories, promised_ts
from shared.kpis._platform import PlatformKey, recompute_platform
from shared.kpis.formulas import kpi_row, store_conversion_sales, window_start
from shared.kpis.state import CHAIN_KEY, GRAINS, Grain, KpiState, Scope, add_into, empty_state
from shared.pipeline.enriched import EnrichedEvent, StoreContext

__all__ = [
    "BacklogKey",
    "PlatformKey",
    "RowKey",
    "dedupe",
    "recompute",
    "recompute_backlog",
    "recompute_platform",
]

RowKey = tuple[Scope, str, Grain, str]
"""(scope, key, grain, window) of one KPI row."""

BacklogKey = tuple[Scope, str]
"""(scope, key) of one backlog figure."""

_SliceKey = tuple[str, str, str, Grain, str]  # (store_id, region, channel, grain, window)


def _members(store: StoreContext) -> tuple[BacklogKey, ...]:
    """The scope members an event of `store` counts in."""
    return (("store", store.store_id), ("region", store.region), ("chain", CHAIN_KEY), ("channel", store.channel))


def _windows(enriched: EnrichedEvent) -> list[tuple[Grain, str]]:
    """The (grain, window) of an event at every grain: UTC minute and hour, local business day."""
    store = _store(enriched)
    return [
        (grain, window_start(grain, store.business_date if grain == "day" else enriched.event_time)) for grain in GRAINS
    ]


def _store(enriched: EnrichedEvent) -> StoreContext:
    if enriched.store is None:
        raise ValueError(f"retail event {enriched.event.event_id} has no store context")
    return enriched.store


def _transaction_counters(enriched: EnrichedEvent, txn: Transaction) -> KpiState:
    counters = empty_state()
    if enriched.amount_cents is None:
        raise ValueError(f"transaction {txn.event_id} has no reporting-currency amount")
    if txn.txn_type == "sale":
        counters.update(gross_cents=enriched.amount_cents, sales=1, units=enriched.units)
    elif txn.txn_type == "refund":
        counters.update(refund_cents=enriched.amount_cents, refunds=1)
    else:
        counters.update(voids=1)
    return counters


def _facts(events: list[EnrichedEvent]) -> list[tuple[EnrichedEvent, KpiState]]:
    """Each counted fact with the event that places it in its store and windows."""
    facts: list[tuple[EnrichedEvent, KpiState]] = []
    for enriched in events:
        event = enriched.event
        if isinstance(event, Transaction):
            facts.append((enriched, _transaction_counters(enriched, event)))
        elif isinstance(event, Footfall):
            facts.append((enriched, {**empty_state(), "visitors": event.visitors, "traffic_reports": 1}))
    for order in order_histories(events):
        if (placed := order.placed) is not None:
            facts.append((placed, {**empty_state(), "placed": 1}))
        if (completion := order.completion) is not None:
            done = {"completed": 1, "on_time": int(on_time(completion)), "cycle_ms": cycle_ms(completion)}
            facts.append((completion, {**empty_state(), **done}))
        if (cancellation := order.cancellation) is not None:
            facts.append((cancellation, {**empty_state(), "cancelled": 1}))
    return facts


def _is_retail(enriched: EnrichedEvent) -> bool:
    return isinstance(enriched.event, Transaction | Footfall | OrderStatus)


def recompute(events: Iterable[EnrichedEvent], now: datetime) -> dict[RowKey, dict[str, Any]]:
    """Every retail KPI row (scope x key x grain x window) touched by `events`, from scratch.

    `events` are accepted, enriched events (duplicates allowed: they are dropped here).
    Rows carry `as_of=None` and no backlog (see `recompute_backlog`). `now` is only
    checked to be timezone-aware: windowed KPIs do not depend on it.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    retail = [e for e in dedupe(events) if _is_retail(e)]

    touched: set[RowKey] = set()
    for enriched in retail:
        for grain, window in _windows(enriched):
            for scope, key in _members(_store(enriched)):
                touched.add((scope, key, grain, window))

    # A store's part of a region (or channel) is kept apart, so a store that changes
    # region mid-window is split and each part applies the conversion rule on its own.
    stores: dict[tuple[str, Grain, str], KpiState] = {}
    parts: dict[tuple[Scope, str, str, Grain, str], KpiState] = {}  # (scope, key, store_id, grain, window)
    for enriched, counters in _facts(retail):
        store = _store(enriched)
        for grain, window in _windows(enriched):
            add_into(stores.setdefault((store.store_id, grain, window), empty_state()), counters)
            for scope, key in (("region", store.region), ("channel", store.channel)):
                add_into(parts.setdefault((scope, key, store.store_id, grain, window), empty_state()), counters)

    totals: dict[RowKey, KpiState] = {}
    for (store_id, grain, window), state in stores.items():
        totals[("store", store_id, grain, window)] = state
    for (scope, key, _store_id, grain, window), state in parts.items():
        part = {**state, "conv_sales": store_conversion_sales(state)}
        add_into(totals.setdefault((scope, key, grain, window), empty_state()), part)
        if scope == "region":  # the chain is the sum of its regions
            add_into(totals.setdefault(("chain", CHAIN_KEY, grain, window), empty_state()), part)

    return {row_key: kpi_row(*row_key, totals.get(row_key, empty_state()), as_of=None) for row_key in sorted(touched)}


def recompute_backlog(events: Iterable[EnrichedEvent], now: datetime) -> dict[BacklogKey, tuple[int, int]]:
    """(open, overdue) orders per scope member as of `now`, from scratch (see the module notes)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    backlog: dict[BacklogKey, tuple[int, int]] = {}
    for order in order_histories(dedupe(events)):
        if order.placed is None:
            continue
        latest = order.latest
        is_open = order.is_open()
        overdue = is_open and promised_ts(latest) < now
        for member in _members(_store(latest)):
            opened, late = backlog.get(member, (0, 0))
            backlog[member] = (opened + int(is_open), late + int(overdue))
    return backlog
