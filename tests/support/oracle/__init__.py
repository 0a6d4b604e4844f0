"""An independent exactness oracle: KPIs recomputed from raw bodies and the reference CSV files.

It shares nothing with the engine but the wire contracts (the pydantic models decide
whether a body is valid): its own CSV reading, store-local business date, FX to cents
(Decimal, half away from zero), rounding and KPI formulas, written from
docs/contracts.md and deliberately plain and slow. A bug in the engine's enrichment,
money or rollups therefore shows as a difference instead of cancelling out.
"""

from tests.support.oracle.accept import Accepted, Outcome, accept, to_reporting_cents
from tests.support.oracle.platform import dead_letter_rate, lag_tile_ms, lags_ms, platform_figures
from tests.support.oracle.reference import OracleReference, load
from tests.support.oracle.retail import KPIS, backlog, empty_row, kpi_rows, rounded

__all__ = [
    "KPIS",
    "Accepted",
    "OracleReference",
    "Outcome",
    "accept",
    "backlog",
    "dead_letter_rate",
    "empty_row",
    "kpi_rows",
    "lag_tile_ms",
    "lags_ms",
    "load",
    "platform_figures",
    "rounded",
    "to_reporting_cents",
]
