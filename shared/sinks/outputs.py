"""The outputs of a deployment: what the Function App's outputs functions call (deltas in, snapshots, drain).

- `enqueue_deltas(docs)`: the ``rollups`` change-feed trigger hands over its page; the
  minute rollups become `kpi_delta` rows in the outbox. One writer at a time: it holds
  the ``outbox-writer`` lease while it writes (several feed ranges may run at once).
- `tick()`: the timer. Whoever takes the ``outbox-drain`` lease enqueues a snapshot of
  today's tiles when one is due and drains the outbox for at most `drain_budget_s`;
  every other instance returns at once. The lease hands on, in its state, when the
  last snapshot was enqueued and what each dataset's limits spent in the last hour,
  so a new holder (another instance) continues within the same rolling windows.
  A request starts only while the lease is ours for `request_margin_s` more, longer
  than a request may last, so two instances never push the same row.

Outputs are optional and can never stop ingestion: with no sink configured they are
off (logged once per worker); a bad sink setting disables that sink only, with its
error in the log and in `health()`. Which sinks: `shared.sinks.output_settings`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.sinks._outbox_docs import OUTBOX_CONTAINER
from shared.sinks.compaction import CompactionPolicy
from shared.sinks.dataset import ALERTS_TABLE, KPI_DELTA, KPI_SNAPSHOT, KPI_TILES
from shared.sinks.history_budget import HistoryHealth
from shared.sinks.limits import SinkLimits
from shared.sinks.outbox import Outbox
from shared.sinks.output_settings import (
    OUTPUT_SETTINGS,
    SNAPSHOT_INTERVAL_SETTING,
    SinkRoutes,
    business_calendar,
    output_routes,
)
from shared.sinks.port import Row, RowSink, SinkUnavailable
from shared.sinks.powerbi_push import TokenProvider, default_credential
from shared.sinks.publisher import DEFAULT_COMPACTION, compact_history_if_due
from shared.sinks.pusher import DrainReport, Pusher
from shared.sinks.rate_limiter import Clock, Sleep
from shared.sinks.rows import BusinessCalendar, snapshot_rows, tile_rows
from shared.stores.lease import LeaseHold, LeaseLost, StoreLease
from shared.stores.port import DocumentStore

__all__ = [
    "DELTA_WRITER_LEASE",
    "DRAIN_LEASE",
    "OUTPUT_SETTINGS",
    "SNAPSHOT_INTERVAL_SETTING",
    "DelegatingSink",
    "Outputs",
    "OutputsBusy",
    "OutputsConfig",
    "SinkRoutes",
    "TickReport",
    "business_calendar",
    "output_routes",
]

logger = logging.getLogger(__name__)

DRAIN_LEASE = "outbox-drain"
DELTA_WRITER_LEASE = "outbox-writer"
_HOUR_S = 3600.0
_TABLES = (KPI_SNAPSHOT, KPI_TILES, KPI_DELTA, ALERTS_TABLE)  # alerts rows: enqueued by the evaluator


class OutputsBusy(RuntimeError):
    """Another instance held the outbox writer lease for too long: the trigger raises, the host retries."""


@dataclass(frozen=True, slots=True)
class OutputsConfig:
    """Cadence and lease timing of the deployed outputs."""

    snapshot_interval_s: float = 60.0
    """A `kpi_snapshot` round at most this often (tiles show the newest; the timer runs every 10 s)."""
    drain_budget_s: float = 20.0
    """Longest one timer invocation drains (waits for limits included)."""
    lease_ttl_s: float = 90.0
    request_margin_s: float = 15.0
    """A request starts only while the lease is ours for this long: longer than a request's timeout (10 s)."""
    writer_wait_s: float = 30.0
    writer_poll_s: float = 0.25
    compaction: CompactionPolicy | None = DEFAULT_COMPACTION
    """When the history table is compacted (checked by the rollups function, the table's one writer)."""

    def __post_init__(self) -> None:
        if self.drain_budget_s + self.request_margin_s >= self.lease_ttl_s:
            raise ValueError("drain_budget_s + request_margin_s must stay below lease_ttl_s")


@dataclass(frozen=True, slots=True)
class TickReport:
    """What one timer invocation did: `held` False means another instance drained (or outputs are off)."""

    held: bool
    snapshot_rows: int = 0
    drain: DrainReport | None = None


class DelegatingSink:
    """A `RowSink` that hands everything to `sink`; subclasses add a check or a record around `send`."""

    def __init__(self, sink: RowSink) -> None:
        self._sink = sink

    @property
    def target(self) -> str:
        return self._sink.target

    @property
    def limit_key(self) -> str:
        return self._sink.limit_key

    @property
    def limits(self) -> SinkLimits:
        return self._sink.limits

    def envelope_bytes(self, table: str) -> int:
        return self._sink.envelope_bytes(table)

    def send(self, table: str, rows: Sequence[Row]) -> None:
        self._sink.send(table, rows)

    def __getattr__(self, name: str) -> Any:
        """Capabilities of some sinks (``clear``; a history pair's ``serve``, ``send_standby``, ``switch``)."""
        return getattr(self._sink, name)


_WRITES = frozenset({"clear", "send_standby", "switch"})
"""Capabilities that write to Power BI: fenced by the drain lease like `send`."""


class _LeasedSink(DelegatingSink):
    """Writes only while the drain lease is safely ours, and logs what it sent (for the next holder's limits)."""

    def __init__(self, sink: RowSink, hold: LeaseHold, margin_s: float, sent: list[list[float]]) -> None:
        super().__init__(sink)
        self._hold, self._margin_s, self._sent = hold, margin_s, sent

    def _fence(self) -> None:
        if not self._hold.valid_for(self._margin_s):
            raise SinkUnavailable("the outbox drain lease is ending: the next holder continues")

    def send(self, table: str, rows: Sequence[Row]) -> None:
        self._fence()
        self._sent.append([self._hold.lease.clock(), len(rows)])
        super().send(table, rows)

    def __getattr__(self, name: str) -> Any:
        found = super().__getattr__(name)
        if name not in _WRITES:
            return found

        def fenced(table: str, *rows: Sequence[Row]) -> None:
            self._fence()
            if name == "send_standby":
                self._sent.append([self._hold.lease.clock(), len(rows[0])])
            found(table, *rows)

        return fenced


class Outputs:
    """The outputs of one worker: built once, from the environment, never raising on a sink setting."""

    def __init__(
        self,
        store: DocumentStore,
        environ: Mapping[str, str],
        *,
        calendar: BusinessCalendar,
        holder: str,
        clock: Clock = time.time,
        sleep: Sleep = time.sleep,
        credential_factory: Callable[[], TokenProvider] = default_credential,
        config: OutputsConfig | None = None,
        sinks: SinkRoutes | None = None,
    ) -> None:
        """`sinks` replaces the sinks read from `environ` (tests plug a fake of the `RowSink` port in)."""
        self._store, self._calendar, self._clock, self._sleep = store, calendar, clock, sleep
        found = sinks or output_routes(environ, credential_factory=credential_factory, clock=clock)
        self.routes, self.errors = found.routes, dict(found.errors)
        self.config = config or self._config_from(environ)
        lease = functools.partial(
            StoreLease, store, container=OUTBOX_CONTAINER, holder=holder, ttl_s=self.config.lease_ttl_s, clock=clock
        )
        self._drain_lease, self._writer_lease = lease(DRAIN_LEASE), lease(DELTA_WRITER_LEASE)
        for name, error in self.errors.items():
            logger.error("output %s is off: %s (ingestion is not affected)", name, error)
        if self.routes:
            targets = ", ".join(f"{table} -> {sink.target}" for table, sink in sorted(self.routes.items()))
            logger.info("outputs on: %s", targets)
        elif not self.errors:
            logger.info("outputs off: no Power BI or Fabric sink is configured")

    def _config_from(self, environ: Mapping[str, str]) -> OutputsConfig:
        value = environ.get(SNAPSHOT_INTERVAL_SETTING, "").strip()
        if not value:
            return OutputsConfig()
        try:
            return OutputsConfig(snapshot_interval_s=max(0.0, float(value)))
        except ValueError:
            self.errors[SNAPSHOT_INTERVAL_SETTING] = "must be a number of seconds (the default of 60 is used)"
            return OutputsConfig()

    @property
    def enabled(self) -> bool:
        """True when at least one table has a usable sink."""
        return bool(self.routes)

    # -- the rollups change-feed trigger -------------------------------------------------

    def enqueue_deltas(self, docs: Iterable[Mapping[str, Any]]) -> int:
        """Delta rows of the changed minute rollups in `docs`, under the writer lease; returns rows enqueued."""
        if KPI_DELTA.name not in self.routes:
            return 0
        hold = self._wait_for(self._writer_lease)
        try:
            outbox = Outbox(self._store, [KPI_DELTA], clock=self._clock)
            added = outbox.enqueue_deltas(docs)
            cap = self.routes[KPI_DELTA.name].limits.max_table_rows
            compact_history_if_due(self._store, outbox, KPI_DELTA.name, cap, self.config.compaction, self._clock())
            return added
        finally:
            with contextlib.suppress(LeaseLost):  # expired meanwhile: the outbox's ETags guard the writes
                hold.release()

    def _wait_for(self, lease: StoreLease) -> LeaseHold:
        give_up = self._clock() + self.config.writer_wait_s
        while (hold := lease.try_acquire()) is None:
            if self._clock() >= give_up:
                raise OutputsBusy(f"lease {lease.name!r} stayed taken for {self.config.writer_wait_s:.0f} s")
            self._sleep(self.config.writer_poll_s)
        return hold

    # -- the timer ----------------------------------------------------------------------

    def tick(self) -> TickReport:
        """Snapshot when due and drain, if this instance takes the drain lease; else return at once."""
        if not self.routes:
            return TickReport(held=False)
        hold = self._drain_lease.try_acquire()
        if hold is None:
            return TickReport(held=False)
        sent: dict[str, list[list[float]]] = {}
        report: DrainReport | None = None
        snapshot_count = 0
        try:
            margin = self.config.request_margin_s
            fenced: dict[str, RowSink] = {
                table: _LeasedSink(sink, hold, margin, sent.setdefault(sink.limit_key, []))
                for table, sink in self.routes.items()
            }
            outbox = Outbox(self._store, _TABLES, clock=self._clock)  # peeks and acks only
            pusher = Pusher(outbox, fenced, clock=self._clock, sleep=self._sleep)
            self._restore_limits(pusher, fenced.values(), hold.state)
            snapshot_count = self._snapshot_if_due(hold)
            report = pusher.drain(deadline_s=self.config.drain_budget_s)
            hold.state["last_error"] = report.last_error
            now = self._clock()
            until = {s.limit_key: pusher.limiter(s).blocked_until for s in fenced.values()}
            hold.state["blocked"] = {key: at for key, at in until.items() if at > now}  # a Retry-After to honour
        finally:
            hold.state["sent"] = self._merged_history(hold.state.get("sent") or {}, sent)
            try:
                hold.release()
            except LeaseLost:
                logger.warning("the outbox drain lease expired during a drain; the next holder continues")
        return TickReport(held=True, snapshot_rows=snapshot_count, drain=report)

    def _snapshot_if_due(self, hold: LeaseHold) -> int:
        """Snapshot rows (and the chain's tile row) when due; both tables are latest-wins in the outbox."""
        if KPI_SNAPSHOT.name not in self.routes and KPI_TILES.name not in self.routes:
            return 0
        now = self._clock()
        last = hold.state.get("last_snapshot_at")
        if last is not None and now - float(last) < self.config.snapshot_interval_s:
            return 0
        rows = snapshot_rows(self._store, datetime.fromtimestamp(now, UTC), self._calendar)
        outbox = Outbox(self._store, [KPI_SNAPSHOT, KPI_TILES], clock=self._clock)
        count = 0
        if KPI_SNAPSHOT.name in self.routes:
            count += outbox.enqueue_rows(KPI_SNAPSHOT.name, rows)
        if KPI_TILES.name in self.routes:
            count += outbox.enqueue_rows(KPI_TILES.name, tile_rows(rows))
        hold.state["last_snapshot_at"] = now
        return count

    def _restore_limits(self, pusher: Pusher, sinks: Iterable[RowSink], state: Mapping[str, Any]) -> None:
        history, blocked = state.get("sent") or {}, state.get("blocked") or {}
        for sink in sinks:
            limiter = pusher.limiter(sink)
            for at, rows in history.get(sink.limit_key, []):
                limiter.record(float(at), int(rows))
            if sink.limit_key in blocked:
                limiter.block_until(float(blocked[sink.limit_key]))

    def _merged_history(
        self, old: Mapping[str, list[list[float]]], new: Mapping[str, list[list[float]]]
    ) -> dict[str, list[list[float]]]:
        since = self._clock() - _HOUR_S  # the longest rolling window of any limit
        merged: dict[str, list[list[float]]] = {}
        for key in set(old) | set(new):
            entries = [*old.get(key, []), *new.get(key, [])]
            kept = sorted(e for e in entries if float(e[0]) > since)
            if kept:
                merged[key] = kept
        return merged

    # -- health -------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Whether outputs are on, each sink's target or error, and each table's backlog."""
        outbox = Outbox(self._store, _TABLES, clock=self._clock)
        now = self._clock()
        lease = self._drain_lease.read()
        state = {} if lease is None else lease.get("state") or {}
        tables = {}
        for table, sink in sorted(self.routes.items()):
            stats = outbox.stats(table)
            tables[table] = {
                "target": sink.target,
                "pushed_rows": stats.pushed_rows,
                "pending_rows": stats.pending_rows,
                "rejected_rows": stats.rejected_rows,
                "push_lag_s": round(stats.lag_s(now), 3),
            }
            cap = sink.limits.max_table_rows
            if cap is not None:  # the history: how full, whether compacting, which dataset of a pair serves
                history = HistoryHealth(table, outbox.table_rows(table), cap, outbox.compacting(table))
                tables[table] |= {"used": round(history.used, 4), "cap": cap, "compacting": history.compacting}
                if getattr(sink, "history_pair", False):
                    tables[table]["serving"] = getattr(sink, "dataset_ids")[outbox.serving(table)]  # noqa: B009
        status = "error" if self.errors else "ok" if self.routes else "off"
        return {"status": status, "tables": tables, "errors": dict(self.errors), "last_error": state.get("last_error")}
