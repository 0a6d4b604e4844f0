""" "vs same time last week" for the sales and transactions tiles: exact, read from the rollups.

Today so far and the same span a week ago are read the same way, so the comparison is
like for like: from the focus's local midnight (its business time zone, as for the
page's "today") to the end of the current minute, and the same local wall-clock span
seven days earlier (so a daylight-saving change in between shifts nothing). A span is
read as whole UTC hour documents where it covers whole hours and minute documents at
its ragged ends: at most ~24 + 2 x 60 point reads per span, never a scan. The change is
``(today - last week) / last week``, 4 places, half away from zero; None when last week
had nothing to compare with.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.kpis.formulas import rounded_ratio, window_start
from shared.kpis.state import Scope
from shared.money import cents_to_decimal
from shared.rollups.keys import RollupKey
from shared.rollups.minutes import read_rollups
from shared.rollups.segments import total
from shared.stores.port import DocumentStore

__all__ = ["Comparison", "same_time_last_week"]

_HOUR = timedelta(hours=1)
_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Comparison:
    """Net sales (cents) and transactions so far today and at the same time last week."""

    net_cents: int
    transactions: int
    last_week_net_cents: int
    last_week_transactions: int

    def tile_fields(self, tile_id: str) -> dict[str, Any] | None:
        """``{"last_week", "today_so_far", "change"}`` for the net sales and transactions tiles, else None."""
        if tile_id == "net_sales":
            now, then = self.net_cents, self.last_week_net_cents
            shown: tuple[Any, Any] = (cents_to_decimal(now), cents_to_decimal(then))
        elif tile_id == "transactions":
            now, then = self.transactions, self.last_week_transactions
            shown = (now, then)
        else:
            return None
        change = rounded_ratio(now - then, then) if then > 0 else None
        return {"today_so_far": shown[0], "last_week": shown[1], "change": change}


def same_time_last_week(store: DocumentStore, scope: Scope, key: str, zone: str, now: datetime) -> Comparison:
    """Today so far (local midnight to the end of the current minute) against the same span a week ago."""
    local = now.astimezone(ZoneInfo(zone))
    end_local = local.replace(second=0, microsecond=0) + _MINUTE
    start_local = datetime.combine(local.date(), time.min, local.tzinfo)
    week = timedelta(days=7)
    today = _span(store, scope, key, start_local.astimezone(UTC), end_local.astimezone(UTC))
    then = _span(store, scope, key, (start_local - week).astimezone(UTC), (end_local - week).astimezone(UTC))
    return Comparison(today[0], today[1], then[0], then[1])


def _span(store: DocumentStore, scope: Scope, key: str, start: datetime, end: datetime) -> tuple[int, int]:
    """(net cents, sales) of the minute windows in [start, end), from hour and minute documents."""
    keys = [RollupKey(scope, key, grain, window_start(grain, at)) for grain, at in _windows(start, end)]
    docs = read_rollups(store, keys) if keys else {}
    net = sales = 0
    for doc in docs.values():
        counters = total(doc["segments"])
        net += counters.get("gross_cents", 0) - counters.get("refund_cents", 0)
        sales += counters.get("sales", 0)
    return net, sales


def _windows(start: datetime, end: datetime) -> Iterator[tuple[Any, datetime]]:
    """Whole UTC hours inside [start, end) as hours, the rest as minutes (both ends on whole minutes)."""
    at = start
    while at < end:
        if at.minute == 0 and at + _HOUR <= end:
            yield "hour", at
            at += _HOUR
        else:
            yield "minute", at
            at += _MINUTE
