"""Positions from Event Hubs trigger metadata: both shapes, and a loud failure when neither is there."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import azure.functions as func
import pytest
from azure.functions import meta

from functions.eventhub_metadata import MissingPositionError, partition_id, raw_events
from tests.functions.trigger_inputs import event_batch

ENQUEUED = datetime(2026, 11, 26, 10, 5, 3, 120000, tzinfo=UTC)


@pytest.mark.parametrize("shape", ["v5", "v4"])
def test_both_metadata_shapes_give_partition_sequence_offset_and_utc_time(shape: str) -> None:
    events = event_batch([b"one", b"two", b"\xff\xfe"], partition="3", first_seq=41, enqueued=ENQUEUED, shape=shape)
    raws = raw_events(events)
    assert [(r.body, r.partition, r.sequence_number, r.offset) for r in raws] == [
        (b"one", "3", 41, str(4096 * 41)),
        (b"two", "3", 42, str(4096 * 42)),
        (b"\xff\xfe", "3", 43, str(4096 * 43)),  # bytes kept exactly, for the dead letter
    ]
    assert {r.enqueued_time for r in raws} == {ENQUEUED}  # naive host time read as UTC


def test_v4_shape_really_lacks_per_event_positions() -> None:
    (event,) = event_batch([b"x"], partition="0", first_seq=7, enqueued=ENQUEUED, shape="v4")
    assert event.sequence_number is None and event.offset is None
    assert "PartitionId" not in event.metadata["PartitionContext"]
    assert raw_events([event])[0].sequence_number == 7


def _event(metadata: dict[str, object], seq: int | None = None) -> func.EventHubEvent:
    data = {k: meta.Datum(json.dumps(v), "json") for k, v in metadata.items()}
    return func.EventHubEvent(body=b"{}", trigger_metadata=data, sequence_number=seq)


def test_partition_context_may_be_json_text_and_keys_any_case() -> None:
    assert partition_id({"partitionContext": json.dumps({"partitionId": "12"})}) == "12"
    assert partition_id({"PARTITIONCONTEXT": {"RUNTIMEINFORMATION": {"PARTITIONID": 5}}}) == "5"
    assert partition_id({"PartitionContext": {"PartitionId": ""}}) is None
    assert partition_id({}) is None


def test_batch_is_returned_in_sequence_order() -> None:
    events = [_event({"PartitionContext": {"PartitionId": "1"}}, seq) for seq in (9, 7, 8)]
    assert [r.sequence_number for r in raw_events(events)] == [7, 8, 9]


def test_missing_partition_fails_loudly_naming_it_and_the_keys_seen() -> None:
    events = [_event({"SequenceNumberArray": [1]}, 1)]
    with pytest.raises(MissingPositionError, match=r"PartitionContext\.PartitionId.*sequencenumberarray"):
        raw_events(events)


def test_missing_sequence_number_fails_loudly() -> None:
    events = [_event({"PartitionContext": {"PartitionId": "0"}})]
    with pytest.raises(MissingPositionError, match="sequence number of event 0"):
        raw_events(events)


def test_metadata_arrays_must_match_the_batch() -> None:
    events = [_event({"PartitionContext": {"PartitionId": "0"}, "SequenceNumberArray": [1, 2]}, 1)]
    with pytest.raises(MissingPositionError, match="2 entries for a batch of 1"):
        raw_events(events)


def test_disagreeing_shapes_are_refused_not_guessed() -> None:
    events = [_event({"PartitionContext": {"PartitionId": "0"}, "SequenceNumberArray": [5]}, 6)]
    with pytest.raises(MissingPositionError, match=r"\(6\) and of the batch metadata \(5\) differ"):
        raw_events(events)


def test_empty_batch_is_empty() -> None:
    assert raw_events([]) == []


def test_missing_time_and_offset_stay_none() -> None:
    (raw,) = raw_events([_event({"PartitionContext": {"PartitionId": "2"}}, 3)])
    assert (raw.partition, raw.sequence_number, raw.offset, raw.enqueued_time) == ("2", 3, None, None)
