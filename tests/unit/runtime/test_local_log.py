"""The local partitioned log: stable partitions, gapless sequences, durable, readable after a position."""

from __future__ import annotations

import zlib
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.runtime.checkpoints import CheckpointStore
from shared.runtime.local_log import InputMark, LocalLog

T0 = datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=UTC)


def messages(count: int, keys: int) -> list[tuple[str, bytes, datetime]]:
    return [(f"store-{i % keys:03d}", f'{{"n":{i}}}'.encode(), T0 + timedelta(seconds=i)) for i in range(count)]


def test_same_key_same_partition_across_instances(tmp_path: Path) -> None:
    log = LocalLog(tmp_path / "pulse.db", partitions=8)
    positions = log.append_many("txn", messages(400, keys=40))
    partition_by_key: dict[str, set[int]] = defaultdict(set)
    for (key, _, _), (partition, _) in zip(messages(400, keys=40), positions, strict=True):
        partition_by_key[key].add(partition)
    assert all(len(partitions) == 1 for partitions in partition_by_key.values())
    assert {next(iter(p)) for p in partition_by_key.values()} == set(range(8))  # 40 keys spread over all 8
    log.close()
    reopened = LocalLog(tmp_path / "pulse.db", partitions=8)
    expected = zlib.crc32(b"store-007") % 8
    assert reopened.partition_of("store-007") == expected == next(iter(partition_by_key["store-007"]))


def test_sequences_are_gapless_per_partition_and_continue_after_reopen(tmp_path: Path) -> None:
    log = LocalLog(tmp_path / "pulse.db", partitions=4)
    first = log.append_many("txn", messages(300, keys=13))
    log.close()
    log = LocalLog(tmp_path / "pulse.db", partitions=4)
    second = [*log.append_many("txn", messages(100, keys=13)), log.append("txn", "store-000", b"{}", T0)]
    seqs: dict[int, list[int]] = defaultdict(list)
    for partition, seq in first + second:
        seqs[partition].append(seq)
    for partition, numbers in seqs.items():
        assert numbers == list(range(len(numbers))), partition
        assert log.last_sequence("txn", partition) == len(numbers) - 1
    assert sum(len(n) for n in seqs.values()) == 401
    assert log.append("traffic", "store-000", b"{}", T0)[1] == 0  # each source has its own sequences


def test_read_after_a_sequence_keeps_body_offset_and_enqueued_time(tmp_path: Path) -> None:
    log = LocalLog(tmp_path / "pulse.db", partitions=1)
    sent = messages(20, keys=3)
    log.append_many("txn", sent)
    events = log.read("txn", 0, 4, 3)
    assert [e.sequence_number for e in events] == [5, 6, 7]
    assert [e.body for e in events] == [body for _, body, _ in sent[5:8]]
    assert [e.enqueued_time for e in events] == [t for _, _, t in sent[5:8]]
    assert {e.partition for e in events} == {"0"}
    assert events[0].offset == str(sum(len(body) for _, body, _ in sent[:5]))  # byte offset in the partition
    assert [e.sequence_number for e in log.read("txn", 0, None, 2)] == [0, 1]
    assert log.read("txn", 0, 19, 10) == []
    assert log.read("ops", 0, None, 10) == []
    assert log.sources() == ["txn"]


def test_refuses_another_partition_count_and_naive_times(tmp_path: Path) -> None:
    LocalLog(tmp_path / "pulse.db", partitions=4).close()
    with pytest.raises(ValueError, match="4 partitions, not 8"):
        LocalLog(tmp_path / "pulse.db", partitions=8)
    log = LocalLog(tmp_path / "pulse.db", partitions=4)
    with pytest.raises(ValueError, match="timezone-aware"):
        log.append("txn", "store-1", b"{}", datetime(2026, 1, 1))
    assert log.last_sequence("txn", log.partition_of("store-1")) is None  # the failed append left nothing


def test_checkpoints_are_durable_and_only_move_forward(tmp_path: Path) -> None:
    checkpoints = CheckpointStore(tmp_path / "pulse.db")
    assert checkpoints.get("txn", "g", 0) is None
    checkpoints.save("txn", "g", 0, 41)
    checkpoints.save("txn", "other", 0, 7)
    checkpoints.close()
    reopened = CheckpointStore(tmp_path / "pulse.db")
    assert reopened.get("txn", "g", 0) == 41
    assert reopened.all("g") == {("txn", 0): 41}
    with pytest.raises(ValueError, match="move back from 41 to 40"):
        reopened.save("txn", "g", 0, 40)


def test_an_input_mark_is_written_with_its_messages_or_not_at_all(tmp_path: Path) -> None:
    log = LocalLog(tmp_path / "pulse.db", partitions=2)
    first = InputMark("/data/txn.jsonl", 3, 30, "a" * 64)
    log.append_many("txn", messages(3, keys=2), first)

    def dies_midway() -> object:
        yield from messages(2, keys=2)
        raise OSError("killed while reading the input")

    with pytest.raises(OSError):
        log.append_many("txn", dies_midway(), InputMark("/data/txn.jsonl", 5, 50, "b" * 64))  # type: ignore[arg-type]
    assert log.input_mark("txn", "/data/txn.jsonl") == first and log.count("txn") == 3
    assert log.input_mark("traffic", "/data/txn.jsonl") is None  # per source
    log.close()
