"""Both Power BI modes against the local fake Power BI server: within every limit, lossless, in order.

The fake (`tests.fixtures.fake_powerbi`) enforces the limits with 429 + Retry-After,
413 and 400 as Power BI does, so a client that overstepped would see it in the
records; each test also checks the records directly. The client and the fake share
a manual clock: a 60-second outage or an hour of rate limiting takes milliseconds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.cli.powerbi import create_datasets
from shared.kpis.formulas import format_utc
from shared.rollups.query import kpi_rows
from shared.sinks.dataset import KPI_DELTA
from shared.sinks.limits import POWERBI_PUSH_LIMITS, POWERBI_STREAMING_LIMITS, SinkLimits
from shared.sinks.outbox import Outbox
from shared.sinks.port import SinkError, SinkUnavailable
from shared.sinks.powerbi_push import POWERBI_SCOPE, PowerBiRestClient, PushDatasetSink
from shared.sinks.powerbi_streaming import StreamingSink
from shared.sinks.publisher import RowPublisher, build_publisher
from shared.sinks.pusher import Pusher
from shared.sinks.rows import BusinessCalendar
from shared.sinks.schema import ColumnSpec, DatasetSpec, TableSpec
from shared.stores.embedded import SqliteDocumentStore
from tests.fixtures.fake_powerbi import FakeLimits, FakePowerBi, FakeTokenCredential, ManualClock, RequestRecord
from tests.unit.sinks._delta_checks import assert_deltas_equal_rollups, scenario_late, scenario_on_time
from tests.unit.sinks._sink_doubles import NOW, RetailWorld

EVENTS = TableSpec("events", (ColumnSpec("n", "Int64"), ColumnSpec("pad", "String", max_length=400)))
LOAD = DatasetSpec("Load test", (EVENTS,), retention="None")
STREAM_KEY = "s3cr3t/Key+=="  # contains characters that URL-encoding changes


def _rows(start: int, count: int, pad: int = 8) -> list[dict[str, Any]]:
    return [{"n": i, "pad": "x" * pad} for i in range(start, start + count)]


def _peak(records: list[RequestRecord], window: float, rows: bool = False) -> int:
    """Largest number of requests (or rows) accepted in any rolling window of `window` seconds."""
    ok = [r for r in records if r.status == 200]
    return max((sum(r.rows if rows else 1 for r in ok if s.at <= r.at < s.at + window) for s in ok), default=0)


def assert_within_limits(records: list[RequestRecord], limits: FakeLimits, *, streaming: bool) -> None:
    """What the fake recorded stays inside every limit, and the fake never had to refuse."""
    assert records, "no request reached the fake"
    assert not [r for r in records if r.status in (400, 413, 429)], "the fake refused a request"
    assert max(r.rows for r in records) <= limits.rows_per_post
    assert _peak(records, 60) <= limits.requests_per_minute
    assert _peak(records, 3600, rows=True) <= limits.rows_per_hour
    assert max(r.in_flight for r in records) <= limits.max_pending
    if streaming:
        assert max(r.size for r in records) <= 15_000
        assert _peak(records, 1) <= limits.streaming_requests_per_second


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakePowerBi]:
    with FakePowerBi(clock) as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> SqliteDocumentStore:
    return SqliteDocumentStore(tmp_path / "pulse.db")


def _client(fake: FakePowerBi, clock: ManualClock, credential: Any = None) -> PowerBiRestClient:
    return PowerBiRestClient(
        credential or FakeTokenCredential(fake.token, clock=clock),
        group_id="group-1",
        api_base=fake.api_base,
        clock=clock,
    )


def publisher_for(
    world: RetailWorld, fake: FakePowerBi, clock: ManualClock, environ: dict[str, str], calendar: BusinessCalendar
) -> RowPublisher:
    """The deployment's publisher for `environ`, signing in to the fake with its token."""
    publisher = build_publisher(
        world.store,
        environ,
        calendar=calendar,
        clock=clock,
        sleep=clock.sleep,
        credential_factory=lambda: FakeTokenCredential(fake.token, clock=clock),
    )
    assert publisher is not None
    return publisher


def _wire(
    mode: str, fake: FakePowerBi, clock: ManualClock, store: SqliteDocumentStore, limits: SinkLimits | None = None
) -> tuple[Outbox, Pusher, str]:
    """Outbox + pusher for the `events` table in `mode`; returns them and the fake's dataset id."""
    if mode == "streaming":
        url = fake.add_streaming_dataset("events", ["n", "pad"], key=STREAM_KEY)
        sink: Any = StreamingSink(url, table="events", limits=limits or POWERBI_STREAMING_LIMITS)
        dataset_id = url.split("/datasets/")[1].split("/")[0]
    else:
        client = _client(fake, clock)
        dataset_id = client.create_dataset(LOAD)["id"]
        sink = PushDatasetSink(client, dataset_id, ["events"], limits=limits or POWERBI_PUSH_LIMITS)
    outbox = Outbox(store, [EVENTS], clock=clock)
    return outbox, Pusher(outbox, {"events": sink}, clock=clock, sleep=clock.sleep), dataset_id


def test_create_dataset_builds_push_streaming_tables_once(fake: FakePowerBi, clock: ManualClock) -> None:
    credential = FakeTokenCredential(fake.token, clock=clock)
    client = _client(fake, clock, credential)
    first = create_datasets(client, ["live", "history"])
    again = create_datasets(client, ["live", "history"])
    assert first["live"]["created"] and not again["live"]["created"]
    assert again["history"]["id"] == first["history"]["id"]
    by_name = {d["name"]: d for d in fake.datasets()}
    assert by_name["Retail Pulse live"]["retention"] == "basicFIFO"
    assert by_name["Retail Pulse history"]["retention"] == "None"
    assert by_name["Retail Pulse history"]["tables"]["kpi_delta"] == sorted(KPI_DELTA.column_names)
    assert credential.scopes[0] == (POWERBI_SCOPE,) and len(credential.scopes) == 1  # the token is cached


def test_a_wrong_token_keeps_the_rows(fake: FakePowerBi, clock: ManualClock, store: SqliteDocumentStore) -> None:
    outbox, _, dataset_id = _wire("push", fake, clock, store)
    bad = PushDatasetSink(
        _client(fake, clock, FakeTokenCredential("not-the-token", clock=clock)), dataset_id, ["events"]
    )
    outbox.enqueue_rows("events", _rows(0, 3))
    report = Pusher(outbox, {"events": bad}, clock=clock, sleep=clock.sleep).drain(deadline_s=5)
    assert report.rows_pushed == 0 and "HTTP 401" in (report.last_error or "")
    assert outbox.stats("events").pending_rows == 3


def test_25000_rows_go_as_posts_of_at_most_10000(
    fake: FakePowerBi, clock: ManualClock, store: SqliteDocumentStore
) -> None:
    outbox, pusher, dataset_id = _wire("push", fake, clock, store)
    outbox.enqueue_rows("events", _rows(0, 25_000))
    pusher.drain()
    assert [r.rows for r in fake.accepted()] == [10_000, 10_000, 5_000]
    assert [r["n"] for r in fake.rows(dataset_id, "events")] == list(range(25_000))
    assert_within_limits(fake.requests, fake.limits, streaming=False)


def test_a_push_dataset_gets_at_most_one_post_a_second(
    fake: FakePowerBi, clock: ManualClock, store: SqliteDocumentStore
) -> None:
    outbox, pusher, dataset_id = _wire("push", fake, clock, store)
    for i in range(130):  # a producer that enqueues every half second and drains at once
        clock.advance_to(clock() + 0.5)
        outbox.enqueue_rows("events", _rows(i, 1))
        pusher.drain(deadline_s=0.0)
    pusher.drain()
    assert _peak(fake.requests, 1) == 1 and len(fake.accepted()) == 66  # ~two rows a request, once a second
    assert [r["n"] for r in fake.rows(dataset_id, "events")] == list(range(130))
    assert_within_limits(fake.requests, fake.limits, streaming=False)


def test_never_more_than_120_posts_in_a_rolling_minute(tmp_path: Path, clock: ManualClock) -> None:
    with FakePowerBi(clock, limits=FakeLimits(push_requests_per_second=1000)) as fake:  # the minute rule alone
        store = SqliteDocumentStore(tmp_path / "minute.db")
        outbox, pusher, dataset_id = _wire("push", fake, clock, store, SinkLimits(requests_per_second=None))
        _drain_130_one_by_one(outbox, pusher, clock)
        assert [r["n"] for r in fake.rows(dataset_id, "events")] == list(range(130))
        assert_within_limits(fake.requests, fake.limits, streaming=False)
        assert len(fake.accepted()) == 121  # 120 at once, then the 10 left in one request


def _drain_130_one_by_one(outbox: Outbox, pusher: Pusher, clock: ManualClock) -> None:
    blocked = 0
    for i in range(130):  # a producer that enqueues and drains as fast as it can
        outbox.enqueue_rows("events", _rows(i, 1))
        blocked += bool(pusher.drain(deadline_s=0.0).blocked)
    clock.advance_to(clock() + 60)
    pusher.drain()
    assert blocked == 10


def test_rows_per_rolling_hour_hold_over_simulated_hours(tmp_path: Path, clock: ManualClock) -> None:
    limits = FakeLimits(rows_per_post=500, rows_per_hour=5_000)  # scaled down: same code, fewer rows
    with FakePowerBi(clock, limits=limits) as fake:
        store = SqliteDocumentStore(tmp_path / "hour.db")
        client_limits = SinkLimits(max_rows_per_request=500, rows_per_hour=5_000)
        outbox, pusher, dataset_id = _wire("push", fake, clock, store, client_limits)
        outbox.enqueue_rows("events", _rows(0, 12_000))
        start = clock()
        pusher.drain()
        assert clock() - start == 7203  # 5,000 rows (1 POST a second) in hours 1 and 2, the last 2,000 at hour 3
        assert [r["n"] for r in fake.rows(dataset_id, "events")] == list(range(12_000))
        assert_within_limits(fake.requests, limits, streaming=False)


def test_streaming_requests_stay_under_15_kb_and_5_a_second(
    fake: FakePowerBi, clock: ManualClock, store: SqliteDocumentStore
) -> None:
    outbox, pusher, dataset_id = _wire("streaming", fake, clock, store)
    outbox.enqueue_rows("events", _rows(0, 400, pad=300))  # ~320 bytes a row: 128 KB in all
    pusher.drain()
    assert len(fake.accepted()) >= 9 and max(r.size for r in fake.accepted()) > 14_000  # full, never over
    assert [r["n"] for r in fake.rows(dataset_id, "events")] == list(range(400))
    assert_within_limits(fake.requests, fake.limits, streaming=True)


@pytest.mark.parametrize("mode", ["streaming", "push"])
def test_a_60_second_outage_loses_nothing_and_keeps_order(
    mode: str, fake: FakePowerBi, clock: ManualClock, store: SqliteDocumentStore
) -> None:
    outbox, pusher, dataset_id = _wire(mode, fake, clock, store)
    t0 = clock()
    fake.outage(t0 + 30, t0 + 90)
    expected: list[dict[str, Any]] = []
    for second in range(180):  # rows keep coming every second; the sink loop drains for up to 1 s
        clock.advance_to(t0 + second)
        rows = _rows(second * 3, 3)
        outbox.enqueue_rows("events", rows)
        expected += rows
        pusher.drain(deadline_s=1.0)
        if second == 89:
            stats = outbox.stats("events")
            assert stats.pending_rows >= 170 and stats.lag_s(clock()) >= 59  # the backlog and its age
    clock.advance_to(t0 + 400)
    pusher.drain()
    assert fake.rows(dataset_id, "events") == expected  # every row, once, in order
    assert any(r.status == 503 for r in fake.requests)
    assert not [r for r in fake.accepted() if t0 + 30 <= r.at < t0 + 90]
    assert outbox.stats("events").pending_rows == 0
    assert_within_limits([r for r in fake.requests if r.status != 503], fake.limits, streaming=mode == "streaming")


@pytest.mark.parametrize("mode", ["streaming", "push"])
def test_retry_after_is_honoured(mode: str, fake: FakePowerBi, clock: ManualClock, store: SqliteDocumentStore) -> None:
    outbox, pusher, dataset_id = _wire(mode, fake, clock, store)
    fake.throttle_next(2, retry_after_s=7)
    outbox.enqueue_rows("events", _rows(0, 5))
    report = pusher.drain()
    throttled, second, accepted = fake.requests
    assert (throttled.status, second.status, accepted.status) == (429, 429, 200)
    assert second.at - throttled.at >= 7 and accepted.at - second.at >= 7
    assert report.throttled == 2 and len(fake.rows(dataset_id, "events")) == 5


def test_at_most_5_requests_pending_per_dataset(tmp_path: Path, clock: ManualClock) -> None:
    tables = tuple(TableSpec(f"t{i}", (ColumnSpec("n", "Int64"),)) for i in range(8))
    with FakePowerBi(clock, limits=FakeLimits(push_requests_per_second=100), response_delay_s=0.15) as fake:
        client = _client(fake, clock)
        dataset_id = client.create_dataset(DatasetSpec("Wide", tables))["id"]
        sink = PushDatasetSink(
            client, dataset_id, [t.name for t in tables], limits=SinkLimits(requests_per_second=None)
        )
        outbox = Outbox(SqliteDocumentStore(tmp_path / "wide.db"), tables, clock=clock)
        for table in tables:
            for i in range(3):
                outbox.enqueue_rows(table.name, [{"n": i}])
        pusher = Pusher(outbox, {t.name: sink for t in tables}, clock=clock, sleep=clock.sleep, workers=8)
        pusher.drain()
        pusher.close()
        assert max(r.in_flight for r in fake.requests) == 5  # tables drain in parallel, the gate holds at 5
        assert all([r["n"] for r in fake.rows(dataset_id, t.name)] == [0, 1, 2] for t in tables)
        assert_within_limits(fake.requests, fake.limits, streaming=False)


def test_the_streaming_key_never_reaches_a_log_or_an_error(
    fake: FakePowerBi, clock: ManualClock, store: SqliteDocumentStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    outbox, pusher, _ = _wire("streaming", fake, clock, store)
    fake.outage(clock(), clock() + 5)
    fake.throttle_next(1, retry_after_s=3)
    outbox.enqueue_rows("events", _rows(0, 3))
    pusher.drain()  # 503, backoff, 429, Retry-After, then accepted
    url = fake.add_streaming_dataset("events", ["n", "pad"], key=STREAM_KEY)
    wrong = StreamingSink(url.replace("s3cr3t", "wrong"), table="events")  # 403 from the fake
    closed = StreamingSink(f"http://127.0.0.1:9/beta/t/datasets/d/rows?key={STREAM_KEY}", table="events")
    messages = []
    for sink in (wrong, closed):
        with pytest.raises(SinkError) as raised:
            sink.send("events", _rows(0, 1))
        messages += [str(raised.value), repr(raised.value), repr(sink), sink.target]
    assert isinstance(raised.value, SinkUnavailable)
    text = caplog.text + "\n".join(messages)
    assert "throttled" in caplog.text and "unavailable" in caplog.text  # the failures were logged...
    for secret in (STREAM_KEY, "s3cr3t", "s3cr3t%2FKey%2B%3D%3D"):
        assert secret not in text  # ...without the key, in any encoding


def test_deltas_and_snapshots_through_the_publisher_to_a_push_dataset(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = ManualClock(NOW.timestamp())
    with FakePowerBi(clock) as fake:
        world = RetailWorld(tmp_path)
        ids = {name: v["id"] for name, v in create_datasets(_client(fake, clock), ["live", "history"]).items()}
        environ = {
            "POWERBI_GROUP_ID": "group-1",
            "POWERBI_LIVE_DATASET_ID": ids["live"],
            "POWERBI_HISTORY_DATASET_ID": ids["history"],
            "POWERBI_API_BASE": fake.api_base,
        }
        calendar = BusinessCalendar({"BER1": "Europe/Berlin", "LON1": "Europe/London"}, "Europe/Berlin")
        publisher = publisher_for(world, fake, clock, environ, calendar)
        scenario_on_time(world)
        world.roll_up()
        publisher.step()
        scenario_late(world)
        world.roll_up()
        for _ in range(4):  # the history table is spaced 30 s a request: a few steps push every delta
            clock.advance_to(clock() + 31)
            status = publisher.step()
        assert_deltas_equal_rollups(world.store, fake.rows(ids["history"], "kpi_delta"))
        assert status.pending_rows == 0 and status.rows_pushed > 0 and status.push_lag_s == 0
        assert "rows pushed" in status.line()
        snapshots = fake.rows(ids["live"], "kpi_snapshot")
        first, last = snapshots[0]["snapshot_at"], snapshots[-1]["snapshot_at"]
        assert first == format_utc(NOW) != last
        chain = {r["snapshot_at"]: r for r in snapshots if r["scope"] == "chain"}
        (today,) = kpi_rows(world.store, "chain", "day", NOW, window_from="2026-11-26", window_to="2026-11-27")
        assert chain[last]["net_sales"] == float(today["net_sales"]) != chain[first]["net_sales"]
        assert chain[last]["day"] == "2026-11-26" and chain[last]["as_of"] == today["as_of"]
        stores = {r["key"] for r in snapshots if r["scope"] == "store" and r["snapshot_at"] == last}
        assert stores == {"BER1", "BER2", "LON1", "WEB"}  # calendar stores and every store seen
        assert {r["key"] for r in snapshots if r["scope"] == "region"} == {"EAST", "UK", "ONLINE"}
        assert fake.token not in caplog.text
