"""The row budget of the history table: Power BI keeps at most 5,000,000 rows in a retention-None table.

What Power BI answers past the cap is not documented ("Push semantic model
limitations" gives only the figure): a 400 would make the pusher isolate and reject
rows one by one (SUM drifts), a 429 or 5xx would grow the backlog forever. So the
pusher never sends a request that would take the table past its cap (it holds the
rows in the outbox and reports the table as blocked), and the publisher reports a
health figure — rows in the table / cap — with an alert from 80 %, early enough to
compact or move to Fabric before anything is held.

Rows in the table are counted by the outbox: rows accepted since the table was last
cleared with the documented delete-rows call (``DELETE .../tables/{table}/rows``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from shared.sinks.limits import NONE_RETENTION_TABLE_ROWS

__all__ = ["ALERT_FRACTION", "HistoryHealth", "days_to_cap"]

ALERT_FRACTION: Final = 0.8
"""Alert when the table holds 80 % of its cap."""


@dataclass(frozen=True, slots=True)
class HistoryHealth:
    """How full the history table is."""

    table: str
    rows: int
    """Rows Power BI holds in the table (accepted since its last clear)."""
    cap: int = NONE_RETENTION_TABLE_ROWS
    compacting: bool = False
    """A compaction is under way: the table will be cleared and reseeded (reports show partial totals)."""

    @property
    def used(self) -> float:
        """Rows / cap, 0..1."""
        return self.rows / self.cap

    @property
    def alert(self) -> bool:
        """True from 80 % of the cap."""
        return self.used >= ALERT_FRACTION

    @property
    def full(self) -> bool:
        """True when no further row fits: the pusher holds the table's rows in the outbox."""
        return self.rows >= self.cap

    def line(self) -> str:
        """E.g. ``kpi_delta 41.2 % of 5,000,000 rows`` (with ``ALERT`` from 80 %)."""
        text = f"{self.table} {100 * self.used:.1f} % of {self.cap:,} rows" + (
            " (compacting)" if self.compacting else ""
        )
        return f"ALERT {text}: compact or move to Fabric" if self.alert else text


def days_to_cap(rows_per_day: float, rows_now: int = 0, cap: int = NONE_RETENTION_TABLE_ROWS) -> float:
    """Days until a table growing by `rows_per_day` reaches `cap` (inf when it does not grow)."""
    if rows_per_day <= 0:
        return float("inf")
    return max(0.0, (cap - rows_now) / rows_per_day)
