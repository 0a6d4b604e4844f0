"""Cosmos-only behaviour against the real server: factory URL, read_many strategies, containers."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from azure.cosmos import CosmosClient

from shared.stores import WriteOp, open_store
from shared.stores.cosmos import CosmosDocumentStore
from shared.stores.cosmos_auth import EMULATOR_KEY
from shared.stores.cosmos_options import ReadManyStrategy
from shared.topology import CONTAINERS
from tests.fixtures.emulators import CosmosTarget

pytestmark = pytest.mark.emulator


def test_open_store_with_an_emulator_url_creates_every_container(cosmos_target: CosmosTarget) -> None:
    if cosmos_target.kind != "npm":
        pytest.skip("the URL form under test is emulator=npm")
    host = cosmos_target.endpoint.removeprefix("http://").rstrip("/")
    database = f"factory-{uuid.uuid4().hex[:8]}"
    with open_store(f"cosmos://{host}?emulator=npm&database={database}") as store:
        assert isinstance(store, CosmosDocumentStore)
        store.create("views", {"id": "a", "pk": "s1"})
        assert store.read("views", "s1", "a") is not None
    with CosmosClient(cosmos_target.endpoint, credential=EMULATOR_KEY, **cosmos_target.options().client_kwargs()) as c:
        listed = list(c.get_database_client(database).list_containers())
        names = {c["id"] for c in listed}
        ttl = {c["id"]: c.get("defaultTtl") for c in listed}
    assert names == set(CONTAINERS)
    assert ttl["deadletters"] == CONTAINERS["deadletters"].default_ttl_seconds and ttl["views"] is None


@pytest.mark.parametrize("strategy", ["read_items", "query", "point_reads"])
def test_every_read_many_strategy_returns_the_same_documents(
    cosmos_target: CosmosTarget, strategy: ReadManyStrategy
) -> None:
    with cosmos_target.open_store(read_many=strategy) as store:
        store.write_many("views", [WriteOp.create({"id": f"d{i}", "pk": f"s{i % 3}", "n": i}) for i in range(30)])
        keys = [(f"s{i % 3}", f"d{i}") for i in range(0, 40, 2)]
        found = store.read_many("views", keys)
    assert sorted(found, key=lambda d: int(d[1:])) == [f"d{i}" for i in range(0, 30, 2)]
    assert all(found[f"d{i}"]["n"] == i and found[f"d{i}"]["_etag"] for i in range(0, 30, 2))


@pytest.fixture
def thread_switches_every_microsecond() -> Iterator[None]:
    """Make thread interleavings that are rare at the default 5 ms switch interval frequent."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("thread_switches_every_microsecond")
def test_reads_from_many_threads_at_once_all_answer(cosmos_target: CosmosTarget) -> None:
    # One client shared by threads fails here now and then (the SDK adds keys to
    # the client's last response headers while another thread's query copies them:
    # "OrderedDict mutated during iteration"); each thread has its own client.
    with cosmos_target.open_store(read_many="query", write_concurrency=8) as store:
        store.write_many("views", [WriteOp.create({"id": f"d{i}", "pk": f"s{i % 16}", "n": i}) for i in range(64)])
        keys = [(f"s{i % 16}", f"d{i}") for i in range(64)]
        with ThreadPoolExecutor(4) as callers:
            answers = list(callers.map(lambda _: store.read_many("views", keys), range(50)))
    assert len(answers) == 50
    assert all(sorted(found) == sorted(f"d{i}" for i in range(64)) for found in answers)


def test_leases_container_partitions_on_id(cosmos_target: CosmosTarget) -> None:
    with cosmos_target.open_store() as store:
        store.create("leases", {"id": "lease-1", "owner": "host-a"})
        lease = store.read("leases", "lease-1", "lease-1")
        assert lease is not None and lease["owner"] == "host-a"
        assert store.read("leases", "other", "lease-1") is None
