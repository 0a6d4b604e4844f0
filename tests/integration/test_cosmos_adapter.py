"""Cosmos-only behaviour against the real server: factory URL, read_many strategies, containers."""

from __future__ import annotations

import uuid

import pytest

from shared.stores import WriteOp, open_store
from shared.stores.cosmos import CosmosDocumentStore
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
        names = {c["id"] for c in store._database.list_containers()}
        ttl = {c["id"]: c.get("defaultTtl") for c in store._database.list_containers()}
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


def test_leases_container_partitions_on_id(cosmos_target: CosmosTarget) -> None:
    with cosmos_target.open_store() as store:
        store.create("leases", {"id": "lease-1", "owner": "host-a"})
        lease = store.read("leases", "lease-1", "lease-1")
        assert lease is not None and lease["owner"] == "host-a"
        assert store.read("leases", "other", "lease-1") is None
