"""The exact state behind every retail KPI: integer counters that add up across windows and scopes.

Every rollup (store -> region -> chain / channel; minute -> hour -> local day) is a
sum of these counters, so any level can be recomputed from its children exactly.
Ratios are never stored: `formulas.py` derives them at read time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, Literal

__all__ = [
    "CHAIN_KEY",
    "GRAINS",
    "KPI_COUNTERS",
    "SCOPES",
    "Grain",
    "KpiState",
    "Scope",
    "add_into",
    "empty_state",
    "sum_states",
]

Scope = Literal["store", "region", "chain", "channel"]
Grain = Literal["minute", "hour", "day"]
SCOPES: Final[tuple[Scope, ...]] = ("store", "region", "chain", "channel")
GRAINS: Final[tuple[Grain, ...]] = ("minute", "hour", "day")
CHAIN_KEY: Final = "ALL"
"""The one key of the `chain` scope."""

KPI_COUNTERS: Final[tuple[str, ...]] = (
    "gross_cents",  # sum of sale amounts, reporting-currency cents
    "refund_cents",  # sum of refund amounts
    "sales",  # count of sale transactions ("transactions")
    "refunds",  # count of refund transactions
    "voids",  # count of voids (no money)
    "units",  # sum of line quantities over sales
    "visitors",  # sum of footfall visitors
    "traffic_reports",  # footfall events counted (a store "counted visitors" when > 0)
    "conv_sales",  # sales of stores that counted visitors in the same window (conversion numerator)
    "placed",  # distinct orders placed in the window
    "completed",  # orders whose first completion falls in the window
    "on_time",  # of those, completed at or before promised_ts
    "cycle_ms",  # sum of (completion - order_placed_ts) in milliseconds
    "cancelled",  # distinct orders cancelled in the window
)
"""The counters of a KPI state, in a fixed order. All are integers."""

KpiState = dict[str, int]


def empty_state() -> KpiState:
    """All counters at zero."""
    return dict.fromkeys(KPI_COUNTERS, 0)


def add_into(total: KpiState, part: Mapping[str, int]) -> KpiState:
    """Add `part` into `total` in place and return `total` (missing counters count as 0)."""
    for name in KPI_COUNTERS:
        total[name] += part.get(name, 0)
    return total


def sum_states(parts: Iterable[Mapping[str, int]]) -> KpiState:
    """The sum of `parts` (an empty iterable gives the empty state)."""
    total = empty_state()
    for part in parts:
        add_into(total, part)
    return total
