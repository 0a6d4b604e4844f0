"""Capture's blob names and Avro records: written and read back exactly; damage reported by name and position."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import fastavro
import pytest

from shared.capture.avro_format import CAPTURE_SCHEMA, CaptureDamaged, parse_enqueued, read_records, write_records
from shared.capture.layout import blob_name, parse_blob_name
from shared.capture.port import FolderCaptureStore
from shared.capture.reader import CaptureRange, captured_blobs, captured_messages
from shared.pipeline.raw import RawEvent

T0 = datetime(2026, 11, 30, 9, 58, 7, 123456, tzinfo=UTC)


def raws(partition: str, first_seq: int, count: int, start: datetime = T0) -> list[RawEvent]:
    return [
        RawEvent(
            f'{{"n": {first_seq + i}}}'.encode(), partition, first_seq + i, str(100 * i), start + timedelta(seconds=i)
        )
        for i in range(count)
    ]


def avro_bytes(events: list[RawEvent]) -> bytes:
    out = io.BytesIO()
    write_records(out, [], events)
    return out.getvalue()


def test_blob_names_follow_captures_default_format() -> None:
    name = blob_name("ns", "pulse-txn", "3", T0)
    assert name == "ns/pulse-txn/3/2026/11/30/09/58/07.avro"
    parsed = parse_blob_name(name)
    assert parsed is not None
    assert (parsed.namespace, parsed.hub, parsed.partition) == ("ns", "pulse-txn", "3")
    assert parsed.window_start == T0.replace(microsecond=0)
    assert parse_blob_name("ns/pulse-txn/3/2026/11/30/09/58.avro") is None
    assert parse_blob_name("ns/pulse-txn/3/2026/13/30/09/58/07.avro") is None  # month 13
    assert parse_blob_name("notes/readme.txt") is None


def test_records_round_trip_with_positions_and_microsecond_enqueued_times() -> None:
    events = raws("2", 40, 5)
    back = list(read_records(io.BytesIO(avro_bytes(events)), "b", "2"))
    assert back == events


def test_bursts_that_share_an_enqueued_time_keep_each_messages_own_time() -> None:
    later = T0 + timedelta(microseconds=1)
    times = [T0, T0, later, later, T0, later + timedelta(hours=1)]
    events = [RawEvent(b"{}", "1", i, str(i), moment) for i, moment in enumerate(times)]
    back = list(read_records(io.BytesIO(avro_bytes(events)), "b", "1"))
    assert [raw.enqueued_time for raw in back] == times


def test_the_file_carries_the_documented_capture_schema() -> None:
    reader = fastavro.reader(io.BytesIO(avro_bytes(raws("0", 0, 1))))
    schema = reader.writer_schema
    assert schema is not None
    assert [f["name"] for f in schema["fields"]] == [f["name"] for f in CAPTURE_SCHEMA["fields"]]
    assert schema["name"] == "Microsoft.ServiceBus.Messaging.EventData"


def test_captures_own_time_format_is_read_as_utc() -> None:
    assert parse_enqueued("11/30/2026 9:58:07 PM") == datetime(2026, 11, 30, 21, 58, 7, tzinfo=UTC)
    assert parse_enqueued("2026-11-30T21:58:07.5+01:00") == datetime(2026, 11, 30, 20, 58, 7, 500000, tzinfo=UTC)


def test_a_file_captured_by_azure_reads_like_ours() -> None:
    """A record as Capture writes it (US time format, system properties, null body)."""
    out = io.BytesIO()
    record = {
        "SequenceNumber": 7,
        "Offset": "4294967296",
        "EnqueuedTimeUtc": "12/1/2026 3:04:05 AM",
        "SystemProperties": {"x-opt-sequence-number": 7, "x-opt-partition-key": "DE001"},
        "Properties": {"k": "v", "n": None},
        "Body": None,
    }
    fastavro.writer(out, fastavro.parse_schema(CAPTURE_SCHEMA), [record])
    (raw,) = read_records(io.BytesIO(out.getvalue()), "b", "1")
    assert raw == RawEvent(b"", "1", 7, "4294967296", datetime(2026, 12, 1, 3, 4, 5, tzinfo=UTC))


def test_a_damaged_file_is_reported_by_name_and_record_position() -> None:
    data = avro_bytes(raws("0", 0, 2000))
    damaged = data[: len(data) // 2] + b"\x00garbage" * 50
    with pytest.raises(CaptureDamaged) as caught:
        list(read_records(io.BytesIO(damaged), "ns/h/0/x.avro", "0"))
    assert caught.value.blob == "ns/h/0/x.avro"
    assert "ns/h/0/x.avro" in str(caught.value) and "record" in str(caught.value)
    with pytest.raises(CaptureDamaged) as not_avro:
        list(read_records(io.BytesIO(b"not avro at all"), "y.avro", "0"))
    assert not_avro.value.position == 0


def test_reader_orders_partitions_and_windows_filters_time_and_skips_damage_only_when_asked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = FolderCaptureStore(tmp_path)
    t1 = T0 + timedelta(minutes=5)
    store.write(blob_name("ns", "pulse-txn", "1", t1), avro_bytes(raws("1", 3, 3, t1)))
    store.write(blob_name("ns", "pulse-txn", "1", T0), avro_bytes(raws("1", 0, 3, T0)))
    store.write(blob_name("ns", "pulse-txn", "0", T0), avro_bytes(raws("0", 0, 2, T0)))
    store.write(blob_name("ns", "pulse-txn", "0", t1), avro_bytes([]))  # an empty window
    store.write(blob_name("ns", "pulse-traffic", "0", T0), avro_bytes(raws("0", 0, 9, T0)))  # another hub
    store.write("ns/pulse-txn/readme.txt", b"not a capture blob")
    everything = list(captured_messages(store, CaptureRange("pulse-txn")))
    assert [(r.partition, r.sequence_number) for r in everything] == [
        ("0", 0), ("0", 1), ("1", 0), ("1", 1), ("1", 2), ("1", 3), ("1", 4), ("1", 5)
    ]  # fmt: skip
    later = list(captured_messages(store, CaptureRange("pulse-txn", "ns", "1", start=t1 + timedelta(seconds=1))))
    assert [r.sequence_number for r in later] == [4, 5]
    assert len(captured_blobs(store, CaptureRange("pulse-txn", partition="0"))) == 2

    store.write(blob_name("ns", "pulse-txn", "0", T0 + timedelta(minutes=1)), avro_bytes(raws("0", 2, 500))[:700])
    with pytest.raises(CaptureDamaged):
        list(captured_messages(store, CaptureRange("pulse-txn")))
    told: list[CaptureDamaged] = []
    kept = list(captured_messages(store, CaptureRange("pulse-txn"), skip_damaged=True, on_damaged=told.append))
    assert len(told) == 1 and told[0].blob.endswith("09/59/07.avro")
    assert len(kept) >= 8  # everything else, plus what the damaged blob held before the damage


def test_captures_are_immutable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = FolderCaptureStore(tmp_path)
    store.write("a/b.avro", b"1")
    with pytest.raises(FileExistsError):
        store.write("a/b.avro", b"2")
    assert store.open_read("a/b.avro").read() == b"1"
