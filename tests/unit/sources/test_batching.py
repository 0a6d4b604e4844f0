"""Per-partition-key batching against the SDK's own `EventDataBatch` size limits, offline."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from azure.eventhub import EventDataBatch, EventHubProducerClient

from shared.generator import generate
from shared.sources.batching import PartitionBatcher
from shared.sources.eventhub_producer import EventHubProducers, ProducerCredentials, SendFailed

EMULATOR = "Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;"


class Hub:
    """The two calls a batcher makes, with real SDK batches of a chosen size limit (nothing is connected)."""

    def __init__(self, max_size_in_bytes: int) -> None:
        self.max_size_in_bytes = max_size_in_bytes
        self.sent: list[EventDataBatch] = []

    def new_batch(self, partition_key: str) -> EventDataBatch:
        return EventDataBatch(max_size_in_bytes=self.max_size_in_bytes, partition_key=partition_key)

    def send(self, batch: EventDataBatch) -> None:
        self.sent.append(batch)


def _key(batch: EventDataBatch) -> str:
    return batch._partition_key.decode() if isinstance(batch._partition_key, bytes) else batch._partition_key  # type: ignore[union-attr]


def test_generated_events_are_batched_by_store_and_every_batch_fits_the_limit() -> None:
    hub = Hub(max_size_in_bytes=4 * 1024)
    batcher = PartitionBatcher(hub.new_batch, hub.send)
    events = list(generate("txn", 600, seed=3, start=datetime(2026, 11, 26, 9, tzinfo=UTC)))
    for event in events:
        assert batcher.add(event.partition_key, event.body)
    batcher.flush()
    assert batcher.pending() == 0
    assert sum(len(b) for b in hub.sent) == batcher.stats.events_sent == len(events)
    assert batcher.stats.batches_sent == len(hub.sent)
    assert all(b.size_in_bytes <= hub.max_size_in_bytes for b in hub.sent)
    by_key: dict[str, int] = {}
    for batch in hub.sent:
        by_key[_key(batch)] = by_key.get(_key(batch), 0) + len(batch)
    expected: dict[str, int] = {}
    for event in events:
        expected[event.partition_key] = expected.get(event.partition_key, 0) + 1
    assert by_key == expected  # every event went in a batch of its own store id
    assert len(hub.sent) > len(expected)  # the limit forced extra batches for busy stores


def test_a_full_batch_is_sent_before_the_next_event_is_queued() -> None:
    hub = Hub(max_size_in_bytes=1024)
    batcher = PartitionBatcher(hub.new_batch, hub.send)
    for _ in range(20):
        batcher.add("DE001", b"x" * 100)
    assert [len(b) for b in hub.sent] == [6, 6, 6] and batcher.pending() == 2
    assert all(b.size_in_bytes <= 1024 for b in hub.sent)


def test_an_event_larger_than_an_empty_batch_is_counted_and_skipped() -> None:
    hub = Hub(max_size_in_bytes=1024)
    batcher = PartitionBatcher(hub.new_batch, hub.send)
    batcher.add("DE001", b"a" * 100)
    assert batcher.add("DE001", b"b" * 5000) is False
    assert batcher.add("DE002", b"c" * 5000) is False
    batcher.flush()
    assert batcher.stats.too_large == 2 and [len(b) for b in hub.sent] == [1]


def test_the_default_limit_is_the_hubs_one_megabyte() -> None:
    hub = Hub(max_size_in_bytes=1024 * 1024)
    batcher = PartitionBatcher(hub.new_batch, hub.send)
    assert batcher.add("DE001", b"x" * 900_000)
    assert batcher.add("DE001", b"y" * 900_000)  # does not fit beside the first: that one is sent
    assert len(hub.sent) == 1 and batcher.pending() == 1


def test_producers_build_real_clients_without_connecting() -> None:
    producers = EventHubProducers(
        {"txn": "pulse-txn", "ops": "pulse-ops"}, ProducerCredentials(connection_string=EMULATOR)
    )
    try:
        clients = producers._clients
        assert all(isinstance(c, EventHubProducerClient) for c in clients.values())
        assert {c.eventhub_name for c in clients.values()} == {"pulse-txn", "pulse-ops"}
        assert set(producers.stats()) == {"pulse-txn", "pulse-ops"}
    finally:
        producers.close()


def test_credentials_are_one_of_namespace_or_connection_string() -> None:
    with pytest.raises(ValueError, match="either"):
        ProducerCredentials()
    with pytest.raises(ValueError, match="either"):
        ProducerCredentials(namespace="ns.servicebus.windows.net", connection_string=EMULATOR)


def test_an_unreachable_hub_is_a_send_failure_naming_the_hub() -> None:
    closed_port = EMULATOR.replace("sb://localhost", "sb://127.0.0.1:1")
    producers = EventHubProducers(
        {"txn": "pulse-txn"}, ProducerCredentials(connection_string=closed_port, retry_total=0)
    )
    try:
        with pytest.raises(SendFailed, match=r"^pulse-txn: .*(refused|connect)"):
            producers.add("txn", "DE001", b"{}")  # the first batch of a key connects to learn the size limit
    finally:
        producers.close()
