"""Check delta rows against the rollups: every minute KPI recomputed from the rows equals `kpi_rows`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from shared.kpis.formulas import rounded_ratio
from shared.money import cents_to_decimal
from shared.rollups.query import kpi_rows
from shared.sinks.dataset import DELTA_COUNTER_COLUMNS
from shared.stores.port import DocumentStore
from tests.unit.sinks._sink_doubles import NOW, RetailWorld

MEASURES = [name for name, _ in DELTA_COUNTER_COLUMNS]


def _sums(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, str], dict[str, int]]:
    out: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    for row in rows:
        into = out[(row["scope"], row["key"], row["window"])]
        for name in MEASURES:
            into[name] += row[name]
    return out


def assert_deltas_equal_rollups(store: DocumentStore, rows: list[dict[str, Any]]) -> None:
    """Every minute KPI of every scope, recomputed from the delta rows, equals `kpi_rows`."""
    sums = _sums(rows)
    zero = dict.fromkeys(MEASURES, 0)
    seen = set()
    for scope in ("store", "region", "chain", "channel"):
        for kpi in kpi_rows(store, scope, "minute", NOW):
            member = (scope, kpi["key"], kpi["window"])
            seen.add(member)
            s = sums.get(member, zero)
            assert cents_to_decimal(s["net_sales_cents"]) == kpi["net_sales"], member
            assert cents_to_decimal(s["gross_sales_cents"]) == kpi["gross_sales"], member
            assert cents_to_decimal(s["refunds_cents"]) == kpi["refunds"], member
            for column, name in [
                ("transactions", "transactions"),
                ("voids", "voids"),
                ("units", "units"),
                ("visitors", "visitors"),
                ("orders_placed", "orders_placed"),
                ("orders_completed", "orders_completed"),
                ("cancellations", "cancellations"),
            ]:
                assert s[column] == kpi[name], (member, column)
            assert rounded_ratio(s["net_sales_cents"], s["transactions"] * 100, 2) == kpi["aov"], member
            assert rounded_ratio(s["conv_transactions"], s["visitors"]) == kpi["conversion_rate"], member
            assert rounded_ratio(s["orders_on_time"], s["orders_completed"]) == kpi["on_time_rate"], member
            assert rounded_ratio(s["cycle_time_ms"], s["orders_completed"] * 1000, 3) == kpi["avg_cycle_time_s"]
    for member, s in sums.items():  # a window without a rollup must have summed to nothing
        assert member in seen or s == zero, member
    # store rows carry their region: summed per region they give the region rollup
    by_region: dict[tuple[str, str, str], dict[str, int]] = _sums(
        {**r, "scope": "region", "key": r["region"]} for r in rows if r["scope"] == "store"
    )
    for member, s in by_region.items():
        assert s == sums.get(member, zero), member


def scenario_on_time(world: RetailWorld) -> None:
    """Sales, visitors and orders on time in four stores, 40 to 20 minutes before NOW."""
    for i, store in enumerate(("BER1", "BER2", "LON1", "WEB")):
        world.sale(100 + i, store, 30, 1999 + i, qty=2)
        world.sale(110 + i, store, 29.5, 505)
        world.visitors(120 + i, store, 30, 10 + i)
    world.sale(130, "BER1", 28, 1250, kind="refund")
    world.sale(131, "BER2", 27, 640)  # no visitors counted in that minute (yet): conversion numerator 0
    world.visitors(133, "BER1", 27, 10)  # ... while its region did count visitors: EAST converts 0 of 10
    world.sale(132, "WEB", 26, 990)  # and none ever: sales that never count toward conversion
    world.order(140, "O1", "BER1", "placed", 40, 40)
    world.order(141, "O1", "BER1", "ready_for_pickup", 20, 40)
    world.order(142, "O2", "LON1", "placed", 30, 30)


def scenario_late(world: RetailWorld) -> None:
    """Late events correcting minutes already pushed: sales, a refund, visitors, a moved completion."""
    world.sale(200, "BER1", 30, 777)  # late sale in a minute already pushed
    world.sale(201, "LON1", 29.5, 505, kind="refund")  # late refund
    world.visitors(202, "BER2", 28, 4)  # BER2 counted no visitors at minute 28 before
    world.sale(203, "BER2", 28, 300)
    world.visitors(206, "BER2", 27, 3)  # BER2 counted after all: its 27-min sale now converts
    world.order(204, "O1", "BER1", "shipped", 25, 40)  # O1's first completion moves from 20 to 25 min ago
    world.order(205, "O2", "LON1", "cancelled", 10, 30)
