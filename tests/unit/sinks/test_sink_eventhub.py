"""The Fabric successor sink packs rows into real `EventDataBatch` objects, offline, in order.

Only the network edge is replaced: `OfflineProducer` creates genuine SDK batches
(`EventDataBatch(max_size_in_bytes=...)`, the constructor the SDK itself uses) and
keeps the batches it is asked to send instead of opening an AMQP link.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from azure.eventhub import EventData, EventDataBatch

from shared.sinks.eventhub_rows import EventHubRowSink
from shared.sinks.outbox import Outbox
from shared.sinks.port import SinkRejected, SinkUnavailable
from shared.sinks.pusher import Pusher
from shared.sinks.schema import ColumnSpec, TableSpec
from shared.stores.embedded import SqliteDocumentStore
from tests.fixtures.fake_powerbi import ManualClock

EVENTS = TableSpec("events", (ColumnSpec("n", "Int64"), ColumnSpec("pad", "String")))
CONNECTION = "Endpoint=sb://es-x.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=c2VjcmV0;EntityPath=es_1"


class OfflineProducer:
    """Stands in for the AMQP link of `EventHubProducerClient`: real batches, kept instead of sent."""

    def __init__(self, fail_on_send: set[int] | None = None) -> None:
        self.sent: list[EventDataBatch] = []
        self.calls = 0
        self._fail_on = fail_on_send or set()

    def create_batch(self, *, partition_key: str | None = None, max_size_in_bytes: int | None = None) -> EventDataBatch:
        return EventDataBatch(max_size_in_bytes=max_size_in_bytes or 1_048_576, partition_key=partition_key)

    def send_batch(self, event_data_batch: EventDataBatch, **kwargs: Any) -> None:
        self.calls += 1
        if self.calls in self._fail_on:
            raise ConnectionError(f"amqp link detached ({CONNECTION})")
        self.sent.append(event_data_batch)


def _events(producer: OfflineProducer) -> list[dict[str, Any]]:
    # The SDK keeps the added events on the batch; reading them back is the only way to see its content.
    events = [event for batch in producer.sent for event in batch._internal_events]
    return [orjson.loads(event.body_as_str()) for event in events if isinstance(event, EventData)]


def _rows(start: int, count: int) -> list[dict[str, Any]]:
    return [{"n": i, "pad": "y" * 150} for i in range(start, start + count)]


def test_rows_fill_real_batches_up_to_their_size_in_order() -> None:
    producer = OfflineProducer()
    sink = EventHubRowSink(producer, target="eventhub es-x/es_1", max_batch_bytes=2_000)
    sink.send("events", _rows(0, 50))
    assert len(producer.sent) > 3
    assert all(len(b) > 0 and b.size_in_bytes <= 2_000 for b in producer.sent)
    assert all(b._partition_key == "events" for b in producer.sent)  # one partition: the table's order holds
    events = _events(producer)
    assert [e["n"] for e in events] == list(range(50)) and {e["table"] for e in events} == {"events"}
    first = producer.sent[0]._internal_events[0]
    assert isinstance(first, EventData)
    assert first.properties == {"table": "events"}
    assert first.content_type == "application/json"


def test_a_failed_send_reports_what_went_through_and_the_rest_is_retried(tmp_path: Path) -> None:
    clock = ManualClock()
    producer = OfflineProducer(fail_on_send={2})
    sink = EventHubRowSink(producer, target="eventhub es-x/es_1", max_batch_bytes=2_000)
    with pytest.raises(SinkUnavailable) as raised:
        sink.send("events", _rows(0, 30))
    assert raised.value.accepted_rows == len(producer.sent[0]) and "c2VjcmV0" not in str(raised.value)

    outbox = Outbox(SqliteDocumentStore(tmp_path / "p.db"), [EVENTS], clock=clock)
    outbox.enqueue_rows("events", _rows(0, 120))
    producer = OfflineProducer(fail_on_send={3})
    sink = EventHubRowSink(producer, target="eventhub es-x/es_1", max_batch_bytes=2_000)
    Pusher(outbox, {"events": sink}, clock=clock, sleep=clock.sleep).drain()
    assert [e["n"] for e in _events(producer)] == list(range(120))  # once each, in order


def test_a_row_that_cannot_fit_any_batch_is_refused() -> None:
    sink = EventHubRowSink(OfflineProducer(), target="eventhub es-x/es_1", max_batch_bytes=300)
    with pytest.raises(SinkRejected, match="does not fit an event batch"):
        sink.send("events", [{"n": 1, "pad": "z" * 500}])


def test_connection_string_settings_never_show_the_key() -> None:
    sink = EventHubRowSink.from_settings({"FABRIC_EVENTSTREAM_CONNECTION_STRING": CONNECTION})
    assert sink.target == "eventhub es-x.servicebus.windows.net/es_1"
    assert "c2VjcmV0" not in repr(sink)
