"""Two Function App instances drain one outbox at once, on both stores: each row reaches Power BI once, in order.

Real threads, real stores (the embedded SQLite file, and `@vercel/cosmosdb-server`
through the real azure-cosmos SDK), a real HTTP sink (the push dataset client)
against the local fake Power BI. Every request checks, at the moment it leaves,
that the drain lease in the store names its sender and has not expired: mutual
exclusion is observed where it matters, not inferred from the result.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from shared.cli.powerbi import create_datasets
from shared.sinks.dataset import KPI_DELTA
from shared.sinks.outbox import Outbox
from shared.sinks.outputs import DRAIN_LEASE, DelegatingSink, Outputs, OutputsConfig, SinkRoutes, output_routes
from shared.sinks.port import Row, RowSink
from shared.sinks.powerbi_push import PowerBiRestClient
from shared.sinks.rows import BusinessCalendar
from shared.stores.embedded import SqliteDocumentStore
from shared.stores.lease import StoreLease, lease_id
from shared.stores.port import DocumentStore
from tests.fixtures.emulators import CosmosTarget
from tests.fixtures.fake_powerbi import FakePowerBi, FakeTokenCredential
from tests.unit.sinks.test_sink_outputs import delta_rows

StoreFactory = Callable[[], DocumentStore]


@pytest.fixture(params=["sqlite", pytest.param("cosmos", marks=pytest.mark.emulator)])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """A factory of connections to one fresh store (each instance opens its own)."""
    opened: list[DocumentStore] = []
    database = f"race-{uuid.uuid4().hex[:10]}"

    def factory() -> DocumentStore:
        if request.param == "sqlite":
            store: DocumentStore = SqliteDocumentStore(tmp_path / "pulse.db")
        else:
            target: CosmosTarget = request.getfixturevalue("cosmos_target")
            store = target.open_store(database)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


class LeaseCheckingSink(DelegatingSink):
    """Wraps a real sink: before each request, the drain lease in the store must be this instance's."""

    def __init__(self, sink: RowSink, store: DocumentStore, holder: str, sent: list[str]) -> None:
        super().__init__(sink)
        self._store, self._holder, self.sent = store, holder, sent

    def send(self, table: str, rows: Sequence[Row]) -> None:
        lease = self._store.read("outbox", lease_id(DRAIN_LEASE), lease_id(DRAIN_LEASE))
        assert lease is not None and lease["holder"] == self._holder and lease["expires_at"] > time.time()
        self.sent.append(self._holder)
        super().send(table, rows)


def _race(store: DocumentStore, holder: str, barrier: threading.Barrier, winners: list[str]) -> None:
    barrier.wait()
    if (
        StoreLease(store, "race", container="outbox", holder=holder, ttl_s=60, clock=time.time).try_acquire()
        is not None
    ):
        winners.append(holder)


def test_only_one_of_four_racing_instances_takes_the_lease(open_store: StoreFactory) -> None:
    stores = [open_store() for _ in range(4)]
    for round_ in range(3):
        barrier = threading.Barrier(len(stores))
        winners: list[str] = []
        threads = [
            threading.Thread(target=_race, args=(store, f"h{i}", barrier, winners)) for i, store in enumerate(stores)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(winners) == 1, (round_, winners)
        doc = stores[0].read("outbox", lease_id("race"), lease_id("race"))
        assert doc is not None and doc["holder"] == winners[0]
        stores[0].upsert("outbox", {**doc, "expires_at": 0.0})  # released for the next round


def test_two_timer_instances_at_once_push_each_row_once_in_order(open_store: StoreFactory) -> None:
    with FakePowerBi(time.time) as fake:  # type: ignore[arg-type]  # the fake takes any clock
        client = PowerBiRestClient(FakeTokenCredential(fake.token), group_id="group-1", api_base=fake.api_base)
        history = create_datasets(client, ["history"])["history"]["id"]
        environ = {
            "POWERBI_GROUP_ID": "group-1",
            "POWERBI_HISTORY_DATASET_ID": history,
            "POWERBI_API_BASE": fake.api_base,
        }
        sent: list[str] = []
        instances = []
        for holder in ("instance-1", "instance-2"):
            store = open_store()
            found = output_routes(environ, credential_factory=lambda: FakeTokenCredential(fake.token), clock=time.time)
            checked: dict[str, RowSink] = {
                t: LeaseCheckingSink(s, store, holder, sent) for t, s in found.routes.items()
            }
            config = OutputsConfig(drain_budget_s=0.2, lease_ttl_s=30, request_margin_s=12)
            instances.append(
                Outputs(store, {}, calendar=BusinessCalendar(), holder=holder, config=config, sinks=SinkRoutes(checked))
            )
        writer = Outbox(open_store(), [KPI_DELTA], clock=time.time)
        produced: list[int] = []  # rows enqueued so far; the producer stops once both instances drained
        finished = threading.Event()
        errors: list[BaseException] = []

        def produce() -> None:
            start = 0
            while start < 1200 or (len(set(sent)) < 2 and start < 6000):
                writer.enqueue_rows(KPI_DELTA.name, delta_rows(start, 100))
                start += 100
                produced.append(start)
                time.sleep(0.05)
            finished.set()

        def drain(outputs: Outputs) -> None:
            try:
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline:
                    if finished.is_set() and len(fake.rows(history, KPI_DELTA.name)) >= produced[-1]:
                        return
                    outputs.tick()
                    time.sleep(0.005)
            except BaseException as error:  # reported by the main thread
                errors.append(error)

        threads = [threading.Thread(target=produce)] + [threading.Thread(target=drain, args=(o,)) for o in instances]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        ids = [row["row_id"] for row in fake.rows(history, KPI_DELTA.name)]
        assert ids == [f"r{i:06d}" for i in range(produced[-1])]  # every row once, in order
        assert {r.status for r in fake.requests} == {200}  # no limit hit, nothing refused
        # Never at the same time; which instance drains is up to the lease (on a loaded machine one may win
        # every turn), so at least one drained and nobody else did.
        assert set(sent) and set(sent) <= {"instance-1", "instance-2"}
