"""Daily targets per tile, from an optional ``targets.csv`` in the reference folder.

==================  ==========================================================
column              meaning
==================  ==========================================================
``scope``           ``chain``, ``region`` or ``store``
``key``             the member: ``ALL`` for the chain, a region, a store id
``kpi``             one of `TARGET_KPIS`
``daily_target``    the target for one business day, >= 0, at most 4 decimals
==================  ==========================================================

For the additive KPIs (net sales in the reporting currency, transactions, visitors)
the page shows the share reached so far; for the ratios (AOV, UPT, conversion,
on-time rate) whether today's value meets it. A missing file means no targets; a bad
one is refused like any reference file (file, line and column named).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Final

from shared.reference._csv import read_rows

__all__ = ["ADDITIVE_KPIS", "TARGETS_FILE", "TARGET_KPIS", "Targets", "read_targets"]

TARGETS_FILE: Final = "targets.csv"
ADDITIVE_KPIS: Final = ("net_sales", "transactions", "visitors")
TARGET_KPIS: Final = (*ADDITIVE_KPIS, "aov", "upt", "conversion_rate", "on_time_rate")
_SCOPES: Final = ("chain", "region", "store")

Targets = dict[tuple[str, str, str], Decimal]
"""(scope, key, kpi) -> daily target."""


def read_targets(folder: Path) -> Targets:
    """The targets of `folder/targets.csv`; empty when the file does not exist."""
    if not (folder / TARGETS_FILE).is_file():
        return {}
    targets: Targets = {}
    for _line, row in read_rows(folder, TARGETS_FILE, ("scope", "key", "kpi", "daily_target")):
        member = (row["scope"].choice(_SCOPES), row["key"].text(), row["kpi"].choice(TARGET_KPIS))
        if member in targets:
            raise row["kpi"].error(f"a second target for {' '.join(member)}")
        targets[member] = row["daily_target"].decimal(4)
    return targets
