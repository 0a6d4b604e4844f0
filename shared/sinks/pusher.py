"""Drain the outbox into sinks, in order, within every limit, and record acceptance only after it happened.

Per table: peek pending rows, cut the next request (rows and bytes limits), wait for
the dataset's rate limiter, send, then move the outbox cursor. A 429 blocks the
dataset for its ``Retry-After``; an outage backs off exponentially (rows stay in the
outbox); a request refused for good is halved until the one bad row is isolated and
kept in a ``rejected`` document. Requests of one table go one at a time, so Power BI
receives them in outbox order; tables sharing a dataset share its limiter and its
5-pending-requests gate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shared.sinks.drain_report import DrainReport, PushPolicy, _Tally
from shared.sinks.outbox import Outbox
from shared.sinks.outbox_model import PendingRows
from shared.sinks.port import Row, RowSink, SinkError, SinkRejected, SinkThrottled
from shared.sinks.rate_limiter import Clock, RateLimiter, Sleep
from shared.sinks.split import RowTooLarge, row_json, take_request

__all__ = ["DrainReport", "PushPolicy", "Pusher"]

logger = logging.getLogger(__name__)


class Pusher:
    """Moves rows from an `Outbox` to the `RowSink` of each table (``routes``)."""

    def __init__(
        self,
        outbox: Outbox,
        routes: Mapping[str, RowSink],
        *,
        clock: Clock,
        sleep: Sleep,
        policy: PushPolicy | None = None,
        workers: int = 1,
    ) -> None:
        """`clock` (epoch seconds) and `sleep` drive every wait, so tests run on a manual clock.

        With `workers` > 1, tables drain in parallel threads (each table still one request
        at a time, in order); tables of one dataset share its limiter and pending gate.
        """
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        # One long-lived pool: its threads keep their store connections from one drain to the next.
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="pulse-push") if workers > 1 else None
        unknown = set(routes) - set(outbox.tables)
        if unknown:
            raise ValueError(f"routes name tables the outbox does not hold: {sorted(unknown)}")
        self._outbox, self._routes = outbox, dict(routes)
        self._clock, self._sleep = clock, sleep
        self._policy = policy or PushPolicy()
        self._limiters: dict[str, RateLimiter] = {}
        self._backoff: dict[str, float] = {}
        self.totals = _Tally()
        """Counters since this pusher was built (for status lines)."""

    def table_cap(self, table: str) -> int | None:
        """Rows the target of `table` may hold (None: no cap, e.g. basicFIFO or streaming)."""
        sink = self._routes.get(table)
        return None if sink is None else sink.limits.max_table_rows

    def limiter(self, sink: RowSink) -> RateLimiter:
        """The rate limiter shared by every table of `sink`'s dataset."""
        key = sink.limit_key
        if key not in self._limiters:
            self._limiters[key] = RateLimiter(sink.limits, clock=self._clock, sleep=self._sleep)
        return self._limiters[key]

    def drain(self, *, deadline_s: float | None = None) -> DrainReport:
        """Push pending rows of every routed table until empty or blocked past `deadline_s` seconds from now.

        No request starts after the deadline; ``deadline_s=0`` sends what the limits allow at once.
        """
        deadline = None if deadline_s is None else self._clock() + deadline_s
        tallies = {table: _Tally() for table in self._routes}
        for sink in self._routes.values():
            self.limiter(sink)  # created here, before any thread needs it
        if self._pool is None:
            for table, table_tally in tallies.items():
                self._drain_table(table, deadline, table_tally)
        else:
            for done in [self._pool.submit(self._drain_table, t, deadline, tallies[t]) for t in tallies]:
                done.result()
        tally = _Tally()
        for part in tallies.values():
            tally.add(part)
        self.totals.blocked = {}  # the totals keep what blocks now, not what blocked once
        self.totals.add(tally)
        return tally.report()

    def close(self) -> None:
        """Stop the worker threads (with `workers` > 1); the pusher is unusable afterwards."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _drain_table(self, table: str, deadline: float | None, tally: _Tally) -> None:
        sink = self._routes[table]
        limiter = self.limiter(sink)
        peek_rows = max(sink.limits.max_rows_per_request, self._outbox.config.chunk_rows)
        if getattr(sink, "history_pair", False):
            self._drain_pair(table, sink, limiter, peek_rows, deadline, tally)
            return
        while deadline is None or self._clock() <= deadline:
            pending = self._outbox.peek(table, peek_rows)
            barrier = self._outbox.clear_barrier(table)
            if barrier is not None and pending.rows:  # a compaction: rows before it, then a clear, then the reseed
                before = sum(1 for seq, _ in pending.positions if seq < barrier)
                if before == 0:
                    if not self._clear(table, sink, limiter, barrier, tally):
                        return
                    continue
                # The reseed carries these rows and the clear would delete them: deliver them by skipping.
                self._outbox.ack(pending, 0, before)
                tally.rows_pushed += before
                continue
            if not pending.rows:
                return
            if not self._push_window(table, sink, limiter, pending, deadline, tally):
                return

    def _drain_pair(
        self, table: str, sink: RowSink, limiter: RateLimiter, peek_rows: int, deadline: float | None, tally: _Tally
    ) -> None:
        """The history pair's order (see `history_pair`): rows before a compaction to the serving dataset,
        clear the standby, the reseed to the standby, rebind the report to it, then newer rows."""
        pair: Any = sink
        pair.serve(self._outbox.serving(table))
        while deadline is None or self._clock() <= deadline:
            switching = self._outbox.switch_due(table)
            if switching is not None:
                if not self._switch(table, sink, limiter, switching, tally):
                    return
                continue
            pending = self._outbox.peek(table, peek_rows)
            if not pending.rows:
                return
            barrier = self._outbox.clear_barrier(table)
            start, end = self._outbox.reseed_span(table)
            first = pending.positions[0][0]
            if barrier is not None and first >= barrier:  # the reseed is next: empty the standby first
                if not self._clear(table, sink, limiter, barrier, tally):
                    return
                continue
            if barrier is not None:  # rows enqueued before the compaction: still to the report's dataset
                head, send = sum(1 for seq, _ in pending.positions if seq < barrier), pair.send
                room = self._room(table, sink)
                if room is not None and room < head:  # it is full: the reseed carries them (the report stays
                    self._outbox.ack(pending, 0, head)  # at the totals of the rows it holds, a prefix)
                    tally.rows_pushed += head
                    continue
            elif start <= first < end:  # the reseed: to the standby
                head, send = sum(1 for seq, _ in pending.positions if seq < end), pair.send_standby
            else:
                head, send = len(pending.rows), pair.send
            if not self._push_window(table, sink, limiter, pending.head(head), deadline, tally, send):
                return

    def _switch(self, table: str, sink: RowSink, limiter: RateLimiter, barrier: int, tally: _Tally) -> bool:
        """Rebind the report to the reseeded standby and record it; False if the call failed (retried later)."""
        try:
            getattr(sink, "switch")(table)  # noqa: B009 - a capability of the history pair only
        except SinkError as error:  # the report keeps the complete old dataset; newer rows wait in the outbox
            logger.error(
                "%s: the report could not be rebound (%s); check the report id and its rights", sink.target, error
            )
            self._wait_after(table, sink, limiter, error, tally)
            tally.blocked[table] = limiter.blocked_until
            return False
        self._outbox.note_switched(table, barrier)
        logger.info("%s: the report reads the reseeded %s now; the old dataset is cleared", sink.target, table)
        return True

    def _clear(self, table: str, sink: RowSink, limiter: RateLimiter, barrier: int, tally: _Tally) -> bool:
        """Empty the target table (documented delete-rows call) before a compaction's reseed; False if it failed."""
        clear = getattr(sink, "clear", None)
        if clear is None:
            raise TypeError(f"{sink.target} cannot clear {table}: a compaction needs a push dataset sink")
        try:
            clear(table)
        except SinkError as error:
            self._wait_after(table, sink, limiter, error, tally)
            tally.blocked[table] = limiter.blocked_until
            return False
        self._outbox.note_cleared(table, barrier, standby=bool(getattr(sink, "history_pair", False)))
        logger.info("%s: cleared %s for its compaction; the reseed follows", sink.target, table)
        return True

    def _push_window(
        self,
        table: str,
        sink: RowSink,
        limiter: RateLimiter,
        pending: PendingRows,
        deadline: float | None,
        tally: _Tally,
        send: Callable[[str, Sequence[Row]], None] | None = None,
    ) -> bool:
        """Send every row of `pending` (with `send`, default `sink.send`); False when blocked or out of time."""
        send = send or sink.send
        sizes = [len(row_json(row)) for row in pending.rows]
        envelope = sink.envelope_bytes(table)
        done, cap, cap_until = 0, None, 0
        while done < len(pending.rows):
            if done >= cap_until:
                cap = None
            try:
                count = take_request(sizes[done:], sink.limits, envelope)
            except RowTooLarge as error:
                self._outbox.ack(pending, done, 1, rejected_reason=str(error))
                tally.rows_rejected += 1
                done += 1
                continue
            count = min(count, cap) if cap else count
            room = self._room(table, sink)
            if room is not None and room < count:
                if room <= 0:  # never past the table's cap: the rows wait in the outbox (see history_budget)
                    tally.blocked[table] = float("inf")
                    tally.last_error = f"{sink.target}: {table} holds its cap of {sink.limits.max_table_rows:,} rows"
                    logger.error("%s: %s is full; rows wait in the outbox until it is compacted", sink.target, table)
                    return False
                count = room
            self._apply_large_table_rule(table, sink, limiter)
            permit = limiter.acquire(count, deadline)
            if not permit.granted:
                tally.blocked[table] = self._clock() + permit.wait_s
                return False
            batch = pending.rows[done : done + count]
            try:
                with limiter.pending():
                    send(table, batch)
            except SinkError as error:
                accepted = min(max(error.accepted_rows, 0), count)
                self._outbox.ack(pending, done, accepted)
                tally.rows_pushed += accepted
                done += accepted
                if isinstance(error, SinkRejected):
                    if count - accepted == 1:
                        self._outbox.ack(pending, done, 1, rejected_reason=str(error))
                        tally.rows_rejected += 1
                        done += 1
                        logger.error("%s refused a row of %s for good: %s", sink.target, table, error)
                    else:  # isolate the bad row: halve the request size over the failed range
                        cap, cap_until = max(1, (count - accepted) // 2), done + count - accepted
                    continue
                self._wait_after(table, sink, limiter, error, tally)
                continue
            self._outbox.ack(pending, done, count)
            self._backoff.pop(sink.limit_key, None)
            tally.requests += 1
            tally.rows_pushed += count
            done += count
            logger.debug("pushed %d rows of %s to %s", count, table, sink.target)
        return True

    def _wait_after(self, table: str, sink: RowSink, limiter: RateLimiter, error: SinkError, tally: _Tally) -> None:
        now = self._clock()
        tally.last_error = f"{sink.target}: {error}"
        if isinstance(error, SinkThrottled):
            tally.throttled += 1
            wait = error.retry_after_s if error.retry_after_s is not None else self._policy.throttle_default_s
            logger.warning("%s throttled %s: waiting %.1f s (Retry-After)", sink.target, table, wait)
        else:
            tally.failures += 1
            key = sink.limit_key
            backoff = self._backoff.get(key, self._policy.backoff_initial_s / 2) * 2
            self._backoff[key] = backoff = min(backoff, self._policy.backoff_max_s)
            wait = max(backoff, error.retry_after_s or 0.0)
            logger.warning("%s unavailable for %s (%s): retrying in %.1f s", sink.target, table, error, wait)
        limiter.block_until(now + wait)

    def _room(self, table: str, sink: RowSink) -> int | None:
        """Rows the target table can still take, or None without a cap."""
        cap = sink.limits.max_table_rows
        return None if cap is None else cap - self._outbox.table_rows(table)

    def _apply_large_table_rule(self, table: str, sink: RowSink, limiter: RateLimiter) -> None:
        threshold = sink.limits.large_table_rows
        if threshold is None or limiter.limits.requests_per_hour is not None:
            return
        if self._outbox.table_rows(table) >= threshold:
            logger.info("%s holds >= %d rows: 120 POST rows requests per hour from now on", table, threshold)
            limiter.tighten(sink.limits.for_large_table())
