"""The DAX measures Retail Pulse publishes on `kpi_delta`, and their meaning in Python (the reference).

Pushes are at-least-once: Power BI's POST rows call has no idempotency key, so a
request that Power BI accepted but whose answer was lost (timeout, crash before the
outbox recorded it) is sent again and its rows are stored twice. Exactness therefore
rests on the measures, not on the protocol: every delta row carries a deterministic
`row_id` (``scope|key|window|part|from_v>to_v``: a resend carries the same ids and the
same values), and every additive measure sums over distinct rows::

    SUMX ( SUMMARIZE ( kpi_delta, kpi_delta[row_id], kpi_delta[<column>] ), kpi_delta[<column>] )

SUMMARIZE groups the table by (row_id, value), so copies of a row collapse into one
and a resent request changes no total. The measures are created with the history
dataset (the REST API's table ``measures``), so every report on it starts from them.
`dedup_total` is the same computation in Python; the tests evaluate it over the rows
the fake Power BI stored after a resend.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from shared.sinks.rows import DELTA_MEASURES

__all__ = ["ADDITIVE_MEASURES", "DAX_MEASURES", "dedup_total", "distinct_sum"]


def distinct_sum(column: str, table: str = "kpi_delta") -> str:
    """DAX: the SUM of `column` over distinct rows (by `row_id`), robust to a resent request."""
    return f"SUMX ( SUMMARIZE ( {table}, {table}[row_id], {table}[{column}] ), {table}[{column}] )"


ADDITIVE_MEASURES: Final[dict[str, str]] = {
    "Net sales": f"DIVIDE ( {distinct_sum('net_sales_cents')}, 100 )",
    "Gross sales": f"DIVIDE ( {distinct_sum('gross_sales_cents')}, 100 )",
    "Refunds": f"DIVIDE ( {distinct_sum('refunds_cents')}, 100 )",
    "Transactions": distinct_sum("transactions"),
    "Units": distinct_sum("units"),
    "Visitors": distinct_sum("visitors"),
    "Orders completed": distinct_sum("orders_completed"),
}
"""Measures that are plain (deduplicated) sums."""

DAX_MEASURES: Final[dict[str, str]] = {
    **ADDITIVE_MEASURES,
    "AOV": "DIVIDE ( [Net sales], [Transactions] )",
    "UPT": "DIVIDE ( [Units], [Transactions] )",
    "Conversion": f"DIVIDE ( {distinct_sum('conv_transactions')}, [Visitors] )",
    "On-time rate": f"DIVIDE ( {distinct_sum('orders_on_time')}, [Orders completed] )",
    "Avg cycle seconds": f"DIVIDE ( {distinct_sum('cycle_time_ms')}, [Orders completed] * 1000 )",
    "Cancel rate": f"DIVIDE ( {distinct_sum('cancellations')}, {distinct_sum('orders_placed')} )",
    "Refund rate": f"DIVIDE ( {distinct_sum('refund_count')}, [Transactions] )",
    "Duplicate rows": "COUNTROWS ( kpi_delta ) - DISTINCTCOUNT ( kpi_delta[row_id] )",
}
"""Every measure of docs/powerbi.md, by name (ratios are DIVIDE of deduplicated sums)."""


def dedup_total(rows: Iterable[Mapping[str, Any]], column: str) -> int:
    """What `distinct_sum(column)` returns over `rows`: the sum over distinct (row_id, value) pairs."""
    if column not in {"net_sales_cents", *(name for name, _ in DELTA_MEASURES)}:
        raise ValueError(f"{column!r} is not an additive column of kpi_delta")
    return sum(value for _, value in {(row["row_id"], row[column]) for row in rows})
