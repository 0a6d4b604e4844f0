"""One step of the sink loop for a long-running host (`pulse demo`, a timer function).

`step()`: enqueue delta rows of every rollup change since the last step, enqueue a
snapshot of today's tiles when one is due, drain the outbox for at most a short
budget, and return the numbers for a status line (rows pushed, backlog, push lag).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.sinks.config import routes_from_settings
from shared.sinks.dataset import ALERTS_TABLE, KPI_DELTA, KPI_SNAPSHOT
from shared.sinks.outbox import Outbox
from shared.sinks.outbox_model import TableStats
from shared.sinks.powerbi_push import TokenProvider, default_credential
from shared.sinks.pusher import Pusher
from shared.sinks.rate_limiter import Clock, Sleep
from shared.sinks.rollup_feed import RollupFeed
from shared.sinks.rows import BusinessCalendar, snapshot_rows
from shared.stores.port import DocumentStore

__all__ = ["PublisherConfig", "PublisherStatus", "RowPublisher", "build_publisher"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PublisherConfig:
    """Cadence of the loop."""

    snapshot_interval_s: float = 5.0
    drain_budget_s: float = 1.0
    """Longest a step spends draining (waits for limits included); the rest waits for the next step."""
    snapshot_table: str = "kpi_snapshot"
    delta_table: str = "kpi_delta"


@dataclass(frozen=True, slots=True)
class PublisherStatus:
    """Numbers for a status line, over every routed table."""

    rows_pushed: int
    pending_rows: int
    rejected_rows: int
    push_lag_s: float
    """Age of the oldest pending row (0 when the backlog is empty)."""
    last_error: str | None
    tables: tuple[TableStats, ...]

    def line(self) -> str:
        """E.g. ``Power BI: 12,345 rows pushed, 40 pending, lag 0.8 s``."""
        text = f"Power BI: {self.rows_pushed:,} rows pushed, {self.pending_rows:,} pending, lag {self.push_lag_s:.1f} s"
        return text + (f", {self.rejected_rows:,} rejected" if self.rejected_rows else "")


class RowPublisher:
    """Feed, snapshot and drain, for the tables the pusher routes."""

    def __init__(
        self,
        store: DocumentStore,
        outbox: Outbox,
        pusher: Pusher,
        *,
        routed_tables: tuple[str, ...],
        calendar: BusinessCalendar,
        clock: Clock,
        config: PublisherConfig | None = None,
    ) -> None:
        self._store, self._outbox, self._pusher = store, outbox, pusher
        self._tables, self._calendar, self._clock = routed_tables, calendar, clock
        self.config = config or PublisherConfig()
        self._feed = RollupFeed(store, outbox)
        self._last_snapshot = float("-inf")

    def step(self) -> PublisherStatus:
        """One round: deltas, a snapshot if due, a bounded drain. Transient failures stay in the outbox."""
        if self.config.delta_table in self._tables:
            self._feed.poll()
        now = self._clock()
        if self.config.snapshot_table in self._tables and now - self._last_snapshot >= self.config.snapshot_interval_s:
            rows = snapshot_rows(self._store, datetime.fromtimestamp(now, UTC), self._calendar)
            self._outbox.enqueue_rows(self.config.snapshot_table, rows)
            self._last_snapshot = now
        self._pusher.drain(deadline_s=self.config.drain_budget_s)
        return self.status()

    @property
    def routed_tables(self) -> tuple[str, ...]:
        """The tables this deployment pushes somewhere."""
        return self._tables

    def status(self) -> PublisherStatus:
        """Rows pushed, backlog and push lag from the outbox (durable: they survive restarts)."""
        now = self._clock()
        stats = tuple(self._outbox.stats(table) for table in self._tables)
        return PublisherStatus(
            rows_pushed=sum(s.pushed_rows for s in stats),
            pending_rows=sum(s.pending_rows for s in stats),
            rejected_rows=sum(s.rejected_rows for s in stats),
            push_lag_s=max((s.lag_s(now) for s in stats), default=0.0),
            last_error=self._pusher.totals.last_error,
            tables=stats,
        )

    def run(self, stop: threading.Event, interval_s: float = 1.0) -> None:
        """Step every `interval_s` until `stop` is set; a failing step is logged and retried next time."""
        while not stop.is_set():
            try:
                self.step()
            except Exception:  # the outbox keeps every row; the next step repairs and retries
                logger.exception("the Power BI publisher step failed; retrying in %.1f s", interval_s)
            stop.wait(interval_s)


def build_publisher(
    store: DocumentStore,
    environ: Mapping[str, str],
    *,
    calendar: BusinessCalendar,
    clock: Clock = time.time,
    sleep: Sleep = time.sleep,
    credential_factory: Callable[[], TokenProvider] = default_credential,
    config: PublisherConfig | None = None,
) -> RowPublisher | None:
    """The publisher of this deployment's sinks (see `shared.sinks.config`), or None when none is configured."""
    routes = routes_from_settings(environ, credential_factory=credential_factory, clock=clock)
    if not routes:
        return None
    outbox = Outbox(store, [KPI_SNAPSHOT, KPI_DELTA, ALERTS_TABLE], clock=clock)
    pusher = Pusher(outbox, routes, clock=clock, sleep=sleep)
    return RowPublisher(
        store, outbox, pusher, routed_tables=tuple(routes), calendar=calendar, clock=clock, config=config
    )
