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
from typing import Final

from shared.sinks.compaction import CompactionPolicy, enqueued_minutes, reseed_rows
from shared.sinks.config import routes_from_settings
from shared.sinks.dataset import ALERTS_TABLE, KPI_DELTA, KPI_SNAPSHOT, KPI_TILES
from shared.sinks.history_budget import HistoryHealth
from shared.sinks.outbox import Outbox
from shared.sinks.outbox_model import TableStats
from shared.sinks.powerbi_push import TokenProvider, default_credential
from shared.sinks.pusher import Pusher
from shared.sinks.rate_limiter import Clock, Sleep
from shared.sinks.rollup_feed import RollupFeed
from shared.sinks.rows import BusinessCalendar, snapshot_rows, tile_rows
from shared.stores.port import DocumentStore

__all__ = ["PublisherConfig", "PublisherStatus", "RowPublisher", "build_publisher"]

logger = logging.getLogger(__name__)

DEFAULT_COMPACTION: Final = CompactionPolicy()
"""Minute rows for 2 days, hour rows before; compact from 70 % of the cap."""


@dataclass(frozen=True, slots=True)
class PublisherConfig:
    """Cadence of the loop."""

    snapshot_interval_s: float = 5.0
    drain_budget_s: float = 1.0
    """Longest a step spends draining (waits for limits included); the rest waits for the next step."""
    compaction: CompactionPolicy | None = DEFAULT_COMPACTION
    """When and how to compact the history table (None: never; the pusher still holds rows at the cap)."""
    snapshot_table: str = "kpi_snapshot"
    tiles_table: str = "kpi_tiles"
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
    history: HistoryHealth | None = None
    """How full the history table is (rows / its 5,000,000-row cap), when it has a cap."""

    def line(self) -> str:
        """E.g. ``Power BI: 12,345 rows pushed, 40 pending, lag 0.8 s, kpi_delta 0.2 % of 5,000,000 rows``."""
        text = f"Power BI: {self.rows_pushed:,} rows pushed, {self.pending_rows:,} pending, lag {self.push_lag_s:.1f} s"
        text += f", {self.rejected_rows:,} rejected" if self.rejected_rows else ""
        return text + (f", {self.history.line()}" if self.history else "")


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
        now = self._clock()
        if self.config.delta_table in self._tables:
            self._feed.poll()
            self.compact_if_due(now)
        if now - self._last_snapshot >= self.config.snapshot_interval_s:
            self.enqueue_snapshot(now)
        self._pusher.drain(deadline_s=self.config.drain_budget_s)
        status = self.status()
        if status.history is not None and status.history.alert:
            logger.warning("Power BI history: %s", status.history.line())
        return status

    def compact_if_due(self, now: float) -> bool:
        """Enqueue a compaction of the history table when it holds `trigger_fraction` of its cap (see compaction)."""
        table = self.config.delta_table
        cap = self._pusher.table_cap(table)
        return compact_history_if_due(self._store, self._outbox, table, cap, self.config.compaction, now)

    def enqueue_snapshot(self, now: float) -> int:
        """Enqueue today's snapshot (and its chain tile row) for the routed tables; returns rows enqueued.

        Snapshot tables are latest-wins in the outbox: an older snapshot still pending is dropped.
        """
        config, added = self.config, 0
        if config.snapshot_table in self._tables or config.tiles_table in self._tables:
            rows = snapshot_rows(self._store, datetime.fromtimestamp(now, UTC), self._calendar)
            if config.snapshot_table in self._tables:
                added += self._outbox.enqueue_rows(config.snapshot_table, rows)
            if config.tiles_table in self._tables:
                added += self._outbox.enqueue_rows(config.tiles_table, tile_rows(rows))
        self._last_snapshot = now
        return added

    @property
    def routed_tables(self) -> tuple[str, ...]:
        """The tables this deployment pushes somewhere."""
        return self._tables

    def status(self) -> PublisherStatus:
        """Rows pushed, backlog and push lag from the outbox (durable: they survive restarts)."""
        now = self._clock()
        stats = tuple(self._outbox.stats(table) for table in self._tables)
        delta, cap = self.config.delta_table, self._pusher.table_cap(self.config.delta_table)
        compacting = cap is not None and self._outbox.compacting(delta)
        history = None if cap is None else HistoryHealth(delta, self._outbox.table_rows(delta), cap, compacting)
        return PublisherStatus(
            rows_pushed=sum(s.pushed_rows for s in stats),
            pending_rows=sum(s.pending_rows for s in stats),
            rejected_rows=sum(s.rejected_rows for s in stats),
            push_lag_s=max((s.lag_s(now) for s in stats), default=0.0),
            last_error=self._pusher.totals.last_error,
            tables=stats,
            history=history,
        )

    def run(self, stop: threading.Event, interval_s: float = 1.0) -> None:
        """Step every `interval_s` until `stop` is set; a failing step is logged and retried next time."""
        while not stop.is_set():
            try:
                self.step()
            except Exception:  # the outbox keeps every row; the next step repairs and retries
                logger.exception("the Power BI publisher step failed; retrying in %.1f s", interval_s)
            stop.wait(interval_s)


def compact_history_if_due(
    store: DocumentStore, outbox: Outbox, table: str, cap: int | None, policy: CompactionPolicy | None, now: float
) -> bool:
    """Enqueue a clear-and-reseed of `table` when it holds `policy.trigger_fraction` of `cap`; True if it did.

    Called where delta rows are enqueued (one writer per table): by `RowPublisher.step` embedded and by the
    rollups change-feed function in Azure.
    """
    if policy is None or cap is None or outbox.compacting(table):
        return False
    if outbox.table_rows(table) < policy.trigger_fraction * cap:
        return False
    moment = datetime.fromtimestamp(now, UTC)
    rows = reseed_rows(enqueued_minutes(store, moment), moment, policy, str(int(now)), cap)
    if not rows:
        return False
    barrier = outbox.enqueue_reseed(table, rows)
    logger.warning("Power BI history: compacting %s into %d rows (reseed at sequence %d)", table, len(rows), barrier)
    return True


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
    outbox = Outbox(store, [KPI_TILES, KPI_SNAPSHOT, KPI_DELTA, ALERTS_TABLE], clock=clock)
    pusher = Pusher(outbox, routes, clock=clock, sleep=sleep)
    return RowPublisher(
        store, outbox, pusher, routed_tables=tuple(routes), calendar=calendar, clock=clock, config=config
    )
