"""Throttling and unavailability against the real server, through a fault-injecting proxy.

429s are the SDK's to retry (after each ``x-ms-retry-after-ms``); the adapter must not
add its own retries on top. 503s are the adapter's: capped exponential backoff, or the
server's hint, then `TransientStoreError`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from shared.stores import TransientStoreError, WriteOp
from shared.stores.cosmos import CosmosDocumentStore
from shared.stores.cosmos_errors import RetryPolicy
from tests.fixtures.emulators import CosmosTarget
from tests.fixtures.fault_proxy import Fault, FaultProxy, run_fault_proxy

pytestmark = pytest.mark.emulator


def _is_document_request(method: str, path: str) -> bool:
    return "/docs" in path


@pytest.fixture
def proxy(cosmos_target: CosmosTarget) -> Iterator[FaultProxy]:
    if cosmos_target.kind != "npm":
        pytest.skip("the proxy speaks plain HTTP; the Docker emulator is HTTPS only")
    with run_fault_proxy(cosmos_target.endpoint, _is_document_request) as running:
        yield running


class RecordingSleep:
    """The adapter's injected sleep: records the waits instead of spending them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def _store(target: CosmosTarget, proxy: FaultProxy, sleep: RecordingSleep, **options: object) -> CosmosDocumentStore:
    return target.open_store(endpoint=proxy.endpoint, sleep=sleep, **options)


def test_429_is_retried_by_the_sdk_after_the_servers_retry_after(
    cosmos_target: CosmosTarget, proxy: FaultProxy
) -> None:
    sleep = RecordingSleep()
    with _store(cosmos_target, proxy, sleep, throttle_retries=3) as store:
        store.create("views", {"id": "a", "pk": "s1", "total": 1})
        proxy.requests.clear()
        proxy.inject(Fault.throttled(300), Fault.throttled(300))

        started = time.monotonic()
        doc = store.read("views", "s1", "a")
        elapsed = time.monotonic() - started

    assert doc is not None and doc["total"] == 1
    attempts = proxy.matching()
    assert [r.fault.status if r.fault else 200 for r in attempts] == [429, 429, 200]
    assert attempts[1].at - attempts[0].at >= 0.29 and attempts[2].at - attempts[1].at >= 0.29
    assert elapsed >= 0.58
    assert sleep.waits == []  # the adapter did not retry a 429 itself


def test_429_beyond_the_sdk_budget_raises_transient_without_a_second_retry_layer(
    cosmos_target: CosmosTarget, proxy: FaultProxy
) -> None:
    sleep = RecordingSleep()
    with _store(cosmos_target, proxy, sleep, throttle_retries=2) as store:
        proxy.always(Fault.throttled(20))
        with pytest.raises(TransientStoreError, match="429"):
            store.upsert("views", {"id": "a", "pk": "s1"})
        proxy.always(None)

    assert len(proxy.matching()) == 3  # 1 try + 2 SDK retries, not multiplied by adapter retries
    assert sleep.waits == []


def test_503_is_retried_with_capped_exponential_backoff_then_succeeds(
    cosmos_target: CosmosTarget, proxy: FaultProxy
) -> None:
    sleep = RecordingSleep()
    policy = RetryPolicy(attempts=5, base_delay_s=0.05, max_delay_s=0.15)
    with _store(cosmos_target, proxy, sleep, retry=policy) as store:
        proxy.inject(Fault.unavailable(), Fault.unavailable(), Fault.unavailable())
        stored = store.upsert("views", {"id": "a", "pk": "s1", "total": 3})

        assert stored["total"] == 3
        assert store.read("views", "s1", "a") is not None
    assert sleep.waits == [0.05, 0.1, 0.15]
    assert [r.fault.status if r.fault else 200 for r in proxy.matching()][:4] == [503, 503, 503, 200]


def test_503_honours_the_servers_retry_after_hint(cosmos_target: CosmosTarget, proxy: FaultProxy) -> None:
    sleep = RecordingSleep()
    with _store(cosmos_target, proxy, sleep, retry=RetryPolicy(attempts=3, base_delay_s=0.01)) as store:
        proxy.inject(Fault.unavailable(retry_after_ms=250))
        store.upsert("views", {"id": "a", "pk": "s1"})
    assert sleep.waits == [0.25]


def test_503_that_outlasts_the_policy_raises_transient_after_the_last_attempt(
    cosmos_target: CosmosTarget, proxy: FaultProxy
) -> None:
    sleep = RecordingSleep()
    with _store(cosmos_target, proxy, sleep, retry=RetryPolicy(attempts=3, base_delay_s=0.01)) as store:
        store.upsert("views", {"id": "a", "pk": "s1"})
        proxy.requests.clear()
        proxy.always(Fault.unavailable())
        with pytest.raises(TransientStoreError, match=r"503.*after 3 attempts"):
            store.read("views", "s1", "a")
        proxy.always(None)
    assert len(proxy.matching()) == 3
    assert sleep.waits == [0.01, 0.02]


def test_write_many_raises_transient_when_one_op_stays_throttled(
    cosmos_target: CosmosTarget, proxy: FaultProxy
) -> None:
    sleep = RecordingSleep()
    with _store(cosmos_target, proxy, sleep, throttle_retries=1, write_concurrency=1) as store:
        proxy.inject(Fault.throttled(10), Fault.throttled(10))  # the first op: try + 1 retry
        with pytest.raises(TransientStoreError):
            store.write_many(
                "views", [WriteOp.upsert({"id": "a", "pk": "s1"}), WriteOp.upsert({"id": "b", "pk": "s1"})]
            )
        assert store.read("views", "s1", "a") is None
