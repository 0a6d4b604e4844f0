"""Reconciliation: every captured message counted once, per partition and enqueued hour.

Inputs are what the pipeline already keeps: the captured messages (positions and
enqueued times, streamed; kept as runs of sequence numbers, so memory grows with
gaps, not with volume), the audit documents (one per batch: the range of sequence
numbers it processed and its counts) and the dead letters (partition, sequence,
reason). Verdicts per (partition, hour):

* ``ok``: every captured message was processed by a batch;
* ``dead-lettered``: processed, some of them dead-lettered (reasons given; explained);
* ``missing in audit``: captured but never processed (expired, a stuck partition);
* ``extra``: processed but not captured (a capture blob lost or deleted). A gap has
  no enqueued time of its own: it is reported in the hour of the captured message
  before it.

`missing in audit` and `extra` are unexplained: `pulse reconcile` exits 1 on them.
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.pipeline.raw import RawEvent

__all__ = ["UNEXPLAINED", "ReconcileRow", "Reconciliation", "hour_of", "reconcile"]

UNEXPLAINED = frozenset({"missing in audit", "extra"})


@dataclass(slots=True)
class ReconcileRow:
    """One partition and enqueued hour."""

    partition: str
    hour: str
    captured: int = 0
    processed: int = 0
    missing: int = 0
    extra: int = 0
    dead_lettered: int = 0
    dead_letter_reasons: Counter[str] = field(default_factory=Counter)

    @property
    def verdict(self) -> str:
        if self.missing:
            return "missing in audit"
        if self.extra:
            return "extra"
        if self.dead_lettered:
            return "dead-lettered"
        return "ok"

    def as_dict(self) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "hour": self.hour,
            "captured": self.captured,
            "processed": self.processed,
            "missing": self.missing,
            "extra": self.extra,
            "dead_lettered": self.dead_lettered,
            "dead_letter_reasons": dict(sorted(self.dead_letter_reasons.items())),
            "verdict": self.verdict,
        }


@dataclass(frozen=True, slots=True)
class Reconciliation:
    source: str
    rows: list[ReconcileRow]

    @property
    def unexplained(self) -> bool:
        return any(row.verdict in UNEXPLAINED for row in self.rows)

    def totals(self) -> dict[str, int]:
        names = ("captured", "processed", "missing", "extra", "dead_lettered")
        return {name: sum(getattr(row, name) for row in self.rows) for name in names}


def reconcile(
    source: str,
    captured: Iterable[RawEvent],
    audits: Iterable[dict[str, Any]],
    dead_letters: Iterable[dict[str, Any]],
    *,
    open_start: bool = False,
    open_end: bool = False,
) -> Reconciliation:
    """Compare the captured messages of one source with its audit and dead-letter documents.

    With `open_start` (no lower time bound) processed messages before a partition's
    first captured one are extra too, and with `open_end` those after its last one
    (in Azure a capture window closes up to 15 minutes late: bound the range there).
    """
    runs: dict[tuple[str, str], list[list[int]]] = {}  # (partition, hour) -> [[lo, hi], ...]
    for raw in captured:
        if raw.partition is None or raw.sequence_number is None or raw.enqueued_time is None:
            continue
        hour = hour_of(raw.enqueued_time)
        bucket = runs.setdefault((raw.partition, hour), [])
        seq = raw.sequence_number
        if bucket and bucket[-1][1] + 1 == seq:
            bucket[-1][1] = seq
        else:
            bucket.append([seq, seq])
    processed = _audited_ranges(audits)
    dead = _dead_letter_reasons(source, dead_letters)
    rows: dict[tuple[str, str], ReconcileRow] = {}
    for (partition, hour), bucket in runs.items():
        row = rows[(partition, hour)] = ReconcileRow(partition, hour)
        ranges = processed.get(partition, [])
        for lo, hi in bucket:
            row.captured += hi - lo + 1
            row.processed += _overlap(ranges, lo, hi)
        row.missing = row.captured - row.processed
    spans = _spans_by_partition(runs)
    for (partition, seq), reason in dead.items():
        span = _span_holding(spans.get(partition, []), seq)
        if span is not None:
            row = rows[(partition, span[2])]
            row.dead_lettered += 1
            row.dead_letter_reasons[reason] += 1
    _assign_extras(rows, spans, processed, open_start=open_start, open_end=open_end)
    ordered = sorted(rows.values(), key=lambda r: (_partition_order(r.partition), r.hour))
    return Reconciliation(source, ordered)


def _audited_ranges(audits: Iterable[dict[str, Any]]) -> dict[str, list[tuple[int, int]]]:
    """The union of the batches' sequence ranges per partition (a retried batch may overlap an earlier one)."""
    by_partition: dict[str, list[tuple[int, int]]] = {}
    for doc in audits:
        if not str(doc.get("id", "")).startswith("audit|"):
            continue
        by_partition.setdefault(str(doc["partition"]), []).append((int(doc["first_seq"]), int(doc["last_seq"])))
    merged: dict[str, list[tuple[int, int]]] = {}
    for partition, ranges in by_partition.items():
        out: list[tuple[int, int]] = []
        for lo, hi in sorted(ranges):
            if out and lo <= out[-1][1] + 1:
                out[-1] = (out[-1][0], max(out[-1][1], hi))
            else:
                out.append((lo, hi))
        merged[partition] = out
    return merged


def _dead_letter_reasons(source: str, docs: Iterable[dict[str, Any]]) -> dict[tuple[str, int], str]:
    reasons: dict[tuple[str, int], str] = {}
    for doc in docs:
        if doc.get("source") != source or doc.get("sequence_number") is None or doc.get("partition") is None:
            continue
        reasons[(str(doc["partition"]), int(doc["sequence_number"]))] = str(doc.get("reason_code", "unknown"))
    return reasons


def _overlap(ranges: list[tuple[int, int]], lo: int, hi: int) -> int:
    total = 0
    for a, b in ranges:
        if b < lo:
            continue
        if a > hi:
            break
        total += min(b, hi) - max(a, lo) + 1
    return total


def _spans_by_partition(runs: dict[tuple[str, str], list[list[int]]]) -> dict[str, list[tuple[int, int, str]]]:
    """Each partition's captured runs (lo, hi, hour), sorted by sequence number."""
    by_partition: dict[str, list[tuple[int, int, str]]] = {}
    for (partition, hour), bucket in runs.items():
        by_partition.setdefault(partition, []).extend((lo, hi, hour) for lo, hi in bucket)
    for spans in by_partition.values():
        spans.sort()
    return by_partition


def _span_holding(spans: list[tuple[int, int, str]], seq: int) -> tuple[int, int, str] | None:
    index = bisect.bisect_right(spans, (seq, 1 << 62, "")) - 1
    if index >= 0 and spans[index][0] <= seq <= spans[index][1]:
        return spans[index]
    return None


def _assign_extras(
    rows: dict[tuple[str, str], ReconcileRow],
    spans_by_partition: dict[str, list[tuple[int, int, str]]],
    processed: dict[str, list[tuple[int, int]]],
    *,
    open_start: bool,
    open_end: bool,
) -> None:
    """Processed sequence numbers that no capture holds: between captured runs, and at the open ends."""
    for partition, spans in spans_by_partition.items():
        ranges = processed.get(partition, [])
        if open_start and spans[0][0] > 0:
            rows[(partition, spans[0][2])].extra += _overlap(ranges, 0, spans[0][0] - 1)
        if open_end:
            rows[(partition, spans[-1][2])].extra += _overlap(ranges, spans[-1][1] + 1, 1 << 62)
        for (_, hi, hour), (next_lo, _, _) in itertools.pairwise(spans):
            if next_lo > hi + 1:  # a hole in the capture between two captured runs
                extra = _overlap(ranges, hi + 1, next_lo - 1)
                if extra:
                    rows[(partition, hour)].extra += extra


def _partition_order(partition: str) -> tuple[int, str]:
    return (int(partition), "") if partition.isdigit() else (1 << 30, partition)


def hour_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:00:00Z")
