"""The durable outbox and the pusher: order, partial acceptance, refusals, outages, crashes, statistics."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any

import pytest

from shared.runtime.crash_injection import CrashingStore
from shared.runtime.faults import SimulatedCrash
from shared.sinks.limits import SinkLimits
from shared.sinks.outbox import Outbox, OutboxConfig, OutboxConflict
from shared.sinks.port import SinkRejected, SinkThrottled, SinkUnavailable
from shared.sinks.pusher import Pusher
from shared.sinks.schema import ColumnSpec, RowSchemaError, TableSpec
from shared.stores.embedded import SqliteDocumentStore
from tests.fixtures.fake_powerbi import ManualClock
from tests.unit.sinks._sink_doubles import RecordingSink

EVENTS = TableSpec("events", (ColumnSpec("n", "Int64"), ColumnSpec("note", "String", max_length=300)))


def _rows(start: int, count: int, note: str = "") -> list[dict[str, Any]]:
    return [{"n": i, "note": note} for i in range(start, start + count)]


@pytest.fixture
def store(tmp_path: Path) -> SqliteDocumentStore:
    return SqliteDocumentStore(tmp_path / "pulse.db")


def _outbox(store: Any, clock: ManualClock, chunk_rows: int = 100) -> Outbox:
    return Outbox(store, [EVENTS], clock=clock, config=OutboxConfig(chunk_rows=chunk_rows))


def test_rows_leave_in_order_within_the_rows_per_request_limit(store: SqliteDocumentStore) -> None:
    clock = ManualClock()
    outbox = _outbox(store, clock)
    sink = RecordingSink(SinkLimits(max_rows_per_request=250))
    for start, count in ((0, 430), (430, 4), (434, 800)):
        assert outbox.enqueue_rows("events", _rows(start, count)) == count
    report = Pusher(outbox, {"events": sink}, clock=clock, sleep=clock.sleep).drain()
    assert [r["n"] for r in sink.received["events"]] == list(range(1234))
    assert max(n for _, n in sink.requests) == 250 and report.rows_pushed == 1234
    stats = outbox.stats("events")
    assert (stats.enqueued_rows, stats.pushed_rows, stats.pending_rows, stats.lag_s(clock())) == (1234, 1234, 0, 0.0)
    assert store.query("outbox", where={"kind": "chunk"}) == []  # pushed chunks are deleted


def test_a_bad_row_is_refused_before_anything_is_written(store: SqliteDocumentStore) -> None:
    outbox = _outbox(store, ManualClock())
    with pytest.raises(RowSchemaError, match="table 'events': n: expected a 64-bit integer"):
        outbox.enqueue_rows("events", [*_rows(0, 3), {"n": "four"}])
    assert outbox.stats("events").enqueued_rows == 0
    with pytest.raises(ValueError, match="unknown outbox table 'nope'"):
        outbox.enqueue_rows("nope", [])


def test_rows_accepted_before_a_failure_are_not_sent_again(store: SqliteDocumentStore) -> None:
    clock = ManualClock()
    outbox = _outbox(store, clock)
    outbox.enqueue_rows("events", _rows(0, 20))
    sink = RecordingSink(SinkLimits(max_rows_per_request=8))
    sink.errors = [SinkUnavailable("connection reset mid-way", accepted_rows=3)]
    Pusher(outbox, {"events": sink}, clock=clock, sleep=clock.sleep).drain()
    assert [r["n"] for r in sink.received["events"]] == list(range(20))


def test_a_refused_row_is_isolated_and_kept_while_the_rest_goes_through(store: SqliteDocumentStore) -> None:
    clock = ManualClock()
    outbox = _outbox(store, clock)
    outbox.enqueue_rows("events", [*_rows(0, 13), {"n": 13, "note": "poison"}, *_rows(14, 30)])

    class Picky(RecordingSink):
        def send(self, table: str, rows: Any) -> None:
            if any(r["note"] == "poison" for r in rows):
                raise SinkRejected("HTTP 400 InvalidValue")
            super().send(table, rows)

    sink = Picky(SinkLimits(max_rows_per_request=16))
    report = Pusher(outbox, {"events": sink}, clock=clock, sleep=clock.sleep).drain()
    assert [r["n"] for r in sink.received["events"]] == [n for n in range(44) if n != 13]
    assert report.rows_rejected == 1 and outbox.stats("events").rejected_rows == 1
    (kept,) = store.query("outbox", where={"kind": "rejected"})
    assert kept["rows"] == [{"n": 13, "note": "poison"}] and "HTTP 400" in kept["reason"]


def test_a_row_larger_than_a_request_is_kept_aside_without_being_sent(store: SqliteDocumentStore) -> None:
    clock = ManualClock()
    outbox = _outbox(store, clock)
    outbox.enqueue_rows("events", [{"n": 0, "note": "x" * 250}, *_rows(1, 5)])
    sink = RecordingSink(SinkLimits(max_request_bytes=120))
    Pusher(outbox, {"events": sink}, clock=clock, sleep=clock.sleep).drain()
    assert [r["n"] for r in sink.received["events"]] == [1, 2, 3, 4, 5]
    assert outbox.stats("events").rejected_rows == 1


def test_an_outage_keeps_rows_pending_and_reports_the_push_lag(store: SqliteDocumentStore) -> None:
    clock = ManualClock(1000.0)
    outbox = _outbox(store, clock)
    outbox.enqueue_rows("events", _rows(0, 5))
    sink = RecordingSink()
    sink.errors = [SinkUnavailable("HTTP 503")] * 50
    pusher = Pusher(outbox, {"events": sink}, clock=clock, sleep=clock.sleep)
    report = pusher.drain(deadline_s=20.0)
    assert report.failures >= 4 and report.rows_pushed == 0 and "events" in report.blocked
    stats = outbox.stats("events")
    assert stats.pending_rows == 5 and stats.lag_s(clock()) == clock() - 1000.0 > 0
    assert clock.slept[:4] == [1.0, 2.0, 4.0, 8.0]  # exponential backoff on the injected clock
    sink.errors.clear()
    clock.advance_to(report.blocked["events"])
    pusher.drain()
    assert [r["n"] for r in sink.received["events"]] == [0, 1, 2, 3, 4]
    assert outbox.stats("events").pending_rows == 0


def test_retry_after_of_a_429_is_honoured(store: SqliteDocumentStore) -> None:
    clock = ManualClock(0.0)
    outbox = _outbox(store, clock)
    outbox.enqueue_rows("events", _rows(0, 3))
    sink = RecordingSink()
    sink.errors = [SinkThrottled("HTTP 429", retry_after_s=7.0)]
    report = Pusher(outbox, {"events": sink}, clock=clock, sleep=clock.sleep).drain()
    assert report.throttled == 1 and clock() == 7.0 and len(sink.received["events"]) == 3


def test_a_crash_while_enqueueing_leaves_all_or_nothing(store: SqliteDocumentStore) -> None:
    clock, delivered = ManualClock(), []
    crashing = CrashingStore(store, 0.3, random.Random(7))
    batches = [_rows(i * 250, 250) for i in range(6)]
    for batch in batches:
        while True:  # the producer retries its batch after each crash, in a new process
            try:
                _outbox(crashing, clock).enqueue_rows("events", batch)
                break
            except SimulatedCrash:
                continue
    assert crashing.crashes > 0
    outbox = _outbox(store, clock)
    sink = RecordingSink()
    Pusher(outbox, {"events": sink}, clock=clock, sleep=clock.sleep).drain()
    delivered = [r["n"] for r in sink.received["events"]]
    assert delivered == list(range(1500))
    assert outbox.stats("events").enqueued_rows == 1500


def test_two_drains_of_one_table_cannot_both_acknowledge(store: SqliteDocumentStore) -> None:
    clock = ManualClock()
    first, second = _outbox(store, clock), _outbox(store, clock)
    first.enqueue_rows("events", _rows(0, 10))
    a, b = first.peek("events", 10), second.peek("events", 10)
    first.ack(a, 0, 10)
    with pytest.raises(OutboxConflict, match="second drain"):
        second.ack(b, 0, 10)


def test_past_the_large_table_threshold_requests_are_spaced_30_s_apart_never_burst_then_block(
    store: SqliteDocumentStore,
) -> None:
    clock = ManualClock(0.0)
    outbox = _outbox(store, clock, chunk_rows=10)
    sink = RecordingSink(SinkLimits(max_rows_per_request=10, large_table_rows=50), clock=clock)
    pusher = Pusher(outbox, {"events": sink}, clock=clock, sleep=clock.sleep)
    for i in range(400):
        outbox.enqueue_rows("events", _rows(i * 10, 10))
    report = pusher.drain(deadline_s=7200.0)
    assert pusher.limiter(sink).limits.requests_per_hour == 120
    times = sink.sent_at
    assert times[:5] == [0.0, 1.0, 2.0, 3.0, 4.0]  # 1 a second until the table holds 50 rows
    gaps = [b - a for a, b in itertools.pairwise(times[5:])]
    assert min(gaps) == 30.0 and gaps.count(30.0) >= len(gaps) - 1  # evenly spaced from the switch on
    assert max(gaps) <= 5 * 30.0  # one catch-up for the 5 sent before the switch, never a 58-minute stall
    assert max(sum(1 for t in times if s <= t < s + 3600) for s in times) <= 120
    assert report.requests == len(times) > 200


def test_a_table_that_keeps_every_row_is_spaced_from_its_first_request(store: SqliteDocumentStore) -> None:
    clock = ManualClock(0.0)
    outbox = _outbox(store, clock, chunk_rows=10)
    sink = RecordingSink(SinkLimits(max_rows_per_request=10).for_large_table(), clock=clock)
    pusher = Pusher(outbox, {"events": sink}, clock=clock, sleep=clock.sleep)
    for i in range(300):
        outbox.enqueue_rows("events", _rows(i * 10, 10))
    pusher.drain(deadline_s=7200.0)
    assert sink.sent_at == [30.0 * i for i in range(241)]  # 120 an hour, 30 s apart, the whole time
