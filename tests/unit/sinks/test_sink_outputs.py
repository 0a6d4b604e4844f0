"""The deployed outputs (`shared.sinks.outputs`): lease hand-over, limits carried across instances, optional sinks."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from shared.sinks._outbox_docs import OUTBOX_CONTAINER
from shared.sinks.dataset import KPI_DELTA
from shared.sinks.limits import SinkLimits
from shared.sinks.outbox import Outbox
from shared.sinks.outputs import DRAIN_LEASE, Outputs, OutputsConfig, SinkRoutes, output_routes
from shared.sinks.rows import BusinessCalendar
from shared.stores.embedded import SqliteDocumentStore
from shared.stores.lease import LeaseLost, StoreLease
from shared.stores.port import DocumentStore
from tests.fixtures.fake_powerbi import FakeTokenCredential, ManualClock
from tests.unit.sinks._sink_doubles import RecordingSink

URL = "https://api.powerbi.com/beta/tenant/datasets/d1/rows?key=abc"


def delta_rows(start: int, count: int) -> list[dict[str, Any]]:
    """Valid `kpi_delta` rows with ids r<start>... (one store minute each)."""
    return [
        {"row_id": f"r{i:06d}", "scope": "store", "key": "BER1", "region": "EAST", "day": "2026-11-26",
         "window": "2026-11-26T10:00:00Z", "as_of": "2026-11-26T10:00:01Z", "transactions": 1, "net_sales_cents": i}
        for i in range(start, start + count)
    ]  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> DocumentStore:
    return SqliteDocumentStore(tmp_path / "pulse.db")


def _outputs(store: DocumentStore, clock: ManualClock, sink: RecordingSink, holder: str, **config: Any) -> Outputs:
    return Outputs(
        store,
        {},
        calendar=BusinessCalendar(),
        holder=holder,
        clock=clock,
        sleep=clock.sleep,
        config=OutputsConfig(**config),
        sinks=SinkRoutes({KPI_DELTA.name: sink}),
    )


def test_the_lease_has_one_holder_until_released_or_expired(store: DocumentStore) -> None:
    clock = ManualClock()
    a = StoreLease(store, "x", container=OUTBOX_CONTAINER, holder="a", ttl_s=30, clock=clock)
    b = StoreLease(store, "x", container=OUTBOX_CONTAINER, holder="b", ttl_s=30, clock=clock)
    held = a.try_acquire()
    assert held is not None and held.valid_for(29) and not held.valid_for(30)
    assert b.try_acquire() is None and a.try_acquire() is None  # a second invocation of `a` waits too
    held.release({"n": 1})
    taken = b.try_acquire()
    assert taken is not None and taken.state == {"n": 1}  # the state is handed on
    clock.advance_to(clock() + 31)  # b stalled past its expiry: a takes over, b may no longer act
    again = a.try_acquire()
    assert again is not None
    with pytest.raises(LeaseLost):
        taken.renew()
    with pytest.raises(LeaseLost):
        taken.release()
    again.renew()
    assert again.valid_for(29)


def test_a_holder_may_renew_its_own_lease_when_asked_and_give_it_up(store: DocumentStore) -> None:
    clock = ManualClock()
    a = StoreLease(store, "x", container=OUTBOX_CONTAINER, holder="a", ttl_s=30, clock=clock)
    b = StoreLease(store, "x", container=OUTBOX_CONTAINER, holder="b", ttl_s=30, clock=clock)
    assert a.try_acquire() is not None
    clock.advance_to(clock() + 20)
    renewed = a.try_acquire(renew_own=True)  # the evaluator's way: each cycle renews
    assert renewed is not None and renewed.valid_for(29)
    assert b.try_acquire(renew_own=True) is None  # renewing is for the holder only
    b.give_up()  # not b's: changes nothing
    assert b.try_acquire() is None
    a.give_up()
    assert b.try_acquire() is not None


def test_two_instances_in_turn_push_each_row_once_in_order(store: DocumentStore, tmp_path: Path) -> None:
    clock = ManualClock()
    sink = RecordingSink(SinkLimits(max_rows_per_request=10, requests_per_second=2))  # 20 rows a tick
    other = SqliteDocumentStore(tmp_path / "pulse.db")  # the second instance has its own connection
    first = _outputs(store, clock, sink, "instance-1", drain_budget_s=0.0)
    second = _outputs(other, clock, sink, "instance-2", drain_budget_s=0.0)
    Outbox(store, [KPI_DELTA], clock=clock).enqueue_rows(KPI_DELTA.name, delta_rows(0, 95))
    lease = StoreLease(
        store, DRAIN_LEASE, container=OUTBOX_CONTAINER, holder="someone", ttl_s=60, clock=clock
    ).try_acquire()
    assert lease is not None
    assert first.tick().held is False and second.tick().held is False and sink.requests == []
    lease.release()
    turns = 0
    while len(sink.received.get(KPI_DELTA.name, [])) < 95:
        report = (first, second)[turns % 2].tick()
        assert report.held and report.drain is not None
        clock.advance_to(clock() + 1)
        turns += 1
    ids = [row["row_id"] for row in sink.received[KPI_DELTA.name]]
    assert ids == [f"r{i:06d}" for i in range(95)]  # in order, none twice
    assert turns == 5  # both instances drained, in turn


def test_a_new_holder_inherits_what_the_limits_spent(store: DocumentStore) -> None:
    clock = ManualClock()
    sink = RecordingSink(SinkLimits(max_rows_per_request=10, requests_per_minute=3, requests_per_second=None))
    first = _outputs(store, clock, sink, "instance-1", drain_budget_s=0.0)
    second = _outputs(store, clock, sink, "instance-2", drain_budget_s=0.0)
    Outbox(store, [KPI_DELTA], clock=clock).enqueue_rows(KPI_DELTA.name, delta_rows(0, 60))
    first.tick()
    assert len(sink.requests) == 3  # the per-minute budget is spent
    clock.advance_to(clock() + 30)
    second.tick()
    assert len(sink.requests) == 3  # a fresh limiter would have sent three more inside the same minute
    clock.advance_to(clock() + 31)
    second.tick()
    assert len(sink.requests) == 6


class SlowSink(RecordingSink):
    """Each request takes `seconds` of the manual clock; records when each started."""

    def __init__(self, clock: ManualClock, seconds: float) -> None:
        super().__init__(SinkLimits(max_rows_per_request=10))
        self.clock, self.seconds, self.starts = clock, seconds, list[float]()

    def send(self, table: str, rows: Any) -> None:
        self.starts.append(self.clock())
        self.clock.sleep(self.seconds)
        super().send(table, rows)


def test_every_request_starts_well_inside_the_lease(store: DocumentStore) -> None:
    clock = ManualClock()
    sink = SlowSink(clock, seconds=4)
    config = {"lease_ttl_s": 30, "request_margin_s": 10, "drain_budget_s": 19}
    outputs = _outputs(store, clock, sink, "slow", **config)
    Outbox(store, [KPI_DELTA], clock=clock).enqueue_rows(KPI_DELTA.name, delta_rows(0, 100))
    taken_at = clock()
    report = outputs.tick()
    assert report.drain is not None and 0 < report.drain.rows_pushed < 100  # the budget ended the drain
    assert all(start + 10 < taken_at + 30 for start in sink.starts)  # nobody else could hold the lease yet
    with pytest.raises(ValueError, match="below lease_ttl_s"):
        OutputsConfig(lease_ttl_s=30, request_margin_s=10, drain_budget_s=20)


def test_no_sink_means_outputs_off_logged_once(store: DocumentStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    outputs = Outputs(store, {}, calendar=BusinessCalendar(), holder="h")
    assert not outputs.enabled and outputs.tick().held is False
    assert outputs.enqueue_deltas([{"id": "x", "grain": "minute"}]) == 0
    assert outputs.health()["status"] == "off"
    assert caplog.text.count("outputs off") == 1


@pytest.mark.parametrize(
    ("environ", "broken", "routed"),
    [
        (
            {"POWERBI_PUSH_URL": "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/pbi/)"},
            "push URL",
            [],
        ),
        ({"POWERBI_PUSH_URL": "http://api.powerbi.com/beta/t/datasets/d/rows?key=abc"}, "push URL", []),
        # A dataset id without its group: that sink is off; the push URL still feeds the tiles.
        ({"POWERBI_LIVE_DATASET_ID": "d1", "POWERBI_PUSH_URL": URL}, "push dataset", ["kpi_tiles"]),
        ({"PULSE_ROW_SINK": "kafka"}, "push dataset", []),
    ],
)
def test_a_bad_sink_setting_disables_that_sink_only(
    store: DocumentStore,
    caplog: pytest.LogCaptureFixture,
    environ: dict[str, str],
    broken: str,
    routed: list[str],
) -> None:
    found = output_routes(environ, credential_factory=FakeTokenCredential, clock=ManualClock())
    assert broken in found.errors and sorted(found.routes) == routed
    assert "abc" not in found.errors[broken]  # a setting's error never shows its value
    outputs = Outputs(store, environ, calendar=BusinessCalendar(), holder="h", credential_factory=FakeTokenCredential)
    health = outputs.health()
    assert health["status"] == "error" and broken in health["errors"]
    assert f"output {broken} is off" in caplog.text
