"""Reconciliation verdicts from captured positions, audit ranges and dead letters, built by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.capture.reconcile import reconcile
from shared.pipeline.raw import RawEvent

H9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def captured(partition: str, seqs: range, start: datetime) -> list[RawEvent]:
    return [RawEvent(b"", partition, s, "0", start + timedelta(seconds=i)) for i, s in enumerate(seqs)]


def audit(partition: str, first: int, last: int) -> dict[str, object]:
    return {"id": f"audit|txn|{partition}|{first}-{last}", "partition": partition, "first_seq": first, "last_seq": last}


def letter(partition: str, seq: int, reason: str) -> dict[str, object]:
    return {"source": "txn", "partition": partition, "sequence_number": seq, "reason_code": reason}


def verdicts(result) -> dict[tuple[str, str], str]:  # type: ignore[no-untyped-def]
    return {(r.partition, r.hour[11:13]): r.verdict for r in result.rows}


def test_everything_processed_is_ok_and_dead_letters_are_explained() -> None:
    messages = captured("0", range(0, 100), H9) + captured("0", range(100, 150), H9 + timedelta(hours=1))
    audits = [audit("0", 0, 59), audit("0", 60, 149), {"id": "progress|txn|0", "partition": "0"}]
    result = reconcile("txn", messages, audits, [letter("0", 120, "unknown_currency"), letter("0", 121, "too_late")])
    assert verdicts(result) == {("0", "09"): "ok", ("0", "10"): "dead-lettered"}
    assert result.rows[1].dead_letter_reasons == {"unknown_currency": 1, "too_late": 1}
    assert not result.unexplained
    assert result.totals() == {"captured": 150, "processed": 150, "missing": 0, "extra": 0, "dead_lettered": 2}


def test_an_unprocessed_partition_is_missing_in_audit() -> None:
    messages = captured("0", range(0, 10), H9) + captured("1", range(0, 10), H9)
    result = reconcile("txn", messages, [audit("0", 0, 9), audit("1", 0, 3)], [])
    assert verdicts(result) == {("0", "09"): "ok", ("1", "09"): "missing in audit"}
    assert result.rows[1].missing == 6
    assert result.unexplained


def test_a_hole_in_the_capture_is_extra_in_the_hour_before_it() -> None:
    messages = captured("0", range(0, 10), H9) + captured("0", range(20, 30), H9 + timedelta(minutes=70))
    result = reconcile("txn", messages, [audit("0", 0, 29)], [])
    assert verdicts(result) == {("0", "09"): "extra", ("0", "10"): "ok"}
    assert result.rows[0].extra == 10
    assert result.unexplained


def test_overlapping_audits_of_a_retried_batch_count_once() -> None:
    result = reconcile("txn", captured("0", range(0, 10), H9), [audit("0", 0, 6), audit("0", 0, 9)], [])
    assert result.rows[0].processed == 10 and result.rows[0].verdict == "ok"


def test_dead_letters_of_other_sources_or_positions_are_ignored() -> None:
    other = letter("0", 3, "malformed_json") | {"source": "traffic"}
    outside = letter("0", 999, "malformed_json")
    result = reconcile("txn", captured("0", range(0, 10), H9), [audit("0", 0, 9)], [other, outside])
    assert result.rows[0].verdict == "ok"


def test_open_ends_count_what_was_processed_before_and_after_the_capture() -> None:
    messages = captured("0", range(10, 20), H9)
    bounded = reconcile("txn", messages, [audit("0", 0, 29)], [])
    assert bounded.rows[0].verdict == "ok"  # a time range: the rest belongs to other hours
    open_ended = reconcile("txn", messages, [audit("0", 0, 29)], [], open_start=True, open_end=True)
    assert open_ended.rows[0].extra == 20 and open_ended.unexplained
