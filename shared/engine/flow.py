"""Platform health per source and partition per minute: what came in, what became of it, how late.

Flow documents are not primary documents: they count each message once through a
per-partition watermark (the last sequence number counted), and are keyed by the
message's *enqueued* minute, which a redelivery does not change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final, NamedTuple

from shared.engine.documents import bump, new_document, writable
from shared.engine.views import NO_SEGMENT, DocKey
from shared.engine.windows import minute_of
from shared.stores.port import Document

__all__ = ["LAG_BOUNDS_MS", "FlowRecord", "apply_flow", "flow_key", "lag_bucket", "window_of"]

LAG_BOUNDS_MS: Final[tuple[int, ...]] = (
    250,
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    30_000,
    60_000,
    300_000,
    3_600_000,
    86_400_000,
)
"""Upper bounds of the end-to-end lag histogram; p50/p95 are read off it as bucket bounds."""


class FlowRecord(NamedTuple):
    """One message's outcome, for counting."""

    sequence_number: int
    enqueued_time: datetime
    outcome: str
    """`accepted`, `duplicate` or `dead_letter:<reason_code>`."""
    lag_ms: int | None = None
    issues: tuple[str, ...] = ()


def lag_bucket(lag_ms: int) -> str:
    """Counter name of the histogram bucket holding `lag_ms`."""
    for bound in LAG_BOUNDS_MS:
        if lag_ms <= bound:
            return f"lag_le_{bound}"
    return "lag_gt_86400000"


def flow_key(source: str, partition: str, minute: str) -> DocKey:
    """The flow document of one source partition and enqueued minute."""
    key = f"{source}|{partition}"
    return DocKey("views", f"flow|{source}|{minute[:10]}", f"flow|{key}|{minute}", "flow", key, minute)


def apply_flow(
    current: Document | None, key: DocKey, partition: str, records: Iterable[FlowRecord], now: datetime
) -> Document | None:
    """The new version of a flow document, or None when every record was already counted."""
    doc = writable(current) if current is not None else new_document(key)
    doc["source"] = key.key.split("|", 1)[0]
    watermark = doc["applied"].get(partition, -1)
    counters: dict[str, int] = doc["segments"].setdefault(NO_SEGMENT, {})
    highest = watermark
    for record in records:
        if record.sequence_number <= watermark:
            continue
        highest = max(highest, record.sequence_number)
        _count(counters, "received")
        if record.outcome.startswith("dead_letter:"):
            _count(counters, "dead_lettered")
        _count(counters, record.outcome)
        if record.lag_ms is not None:
            _count(counters, lag_bucket(record.lag_ms))
            _count(counters, "lag_ms_sum", record.lag_ms)
        for issue in record.issues:
            _count(counters, f"dq:{issue}")
    if highest == watermark:
        return None
    doc["applied"][partition] = highest
    bump(doc, now)
    return doc


def _count(counters: dict[str, int], name: str, value: int = 1) -> None:
    counters[name] = counters.get(name, 0) + value


def window_of(enqueued: datetime) -> str:
    """The flow window of a message (its enqueued minute)."""
    return minute_of(enqueued)
