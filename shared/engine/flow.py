"""Platform health per source and partition per minute: what came in, what became of it, how late.

Flow documents are not primary documents: they count each message once through a
per-partition watermark (the last sequence number counted), and are keyed by the
message's *enqueued* minute, which a redelivery does not change.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
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


_BUCKETS: Final[tuple[str, ...]] = (*(f"lag_le_{bound}" for bound in LAG_BOUNDS_MS), f"lag_gt_{LAG_BOUNDS_MS[-1]}")
_OUTCOME_NAMES: Final = frozenset({"accepted", "duplicate"})


def lag_bucket(lag_ms: int) -> str:
    """Counter name of the histogram bucket holding `lag_ms`."""
    return _BUCKETS[bisect_left(LAG_BOUNDS_MS, lag_ms)]


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
    tally: Counter[str] = Counter()  # counted locally, merged once: this loop runs per message
    lag_sum = 0
    for seq, _, outcome, lag_ms, issues in records:
        if seq <= watermark:
            continue
        if seq > highest:
            highest = seq
        tally[outcome] += 1
        if lag_ms is not None:
            tally[_BUCKETS[bisect_left(LAG_BOUNDS_MS, lag_ms)]] += 1
            lag_sum += lag_ms
        for issue in issues:
            tally[f"dq:{issue}"] += 1
    tally["received"] = sum(n for name, n in tally.items() if name in _OUTCOME_NAMES or name.startswith("dead_letter:"))
    tally["dead_lettered"] = sum(n for name, n in tally.items() if name.startswith("dead_letter:"))
    if lag_sum:
        tally["lag_ms_sum"] = lag_sum
    for name, n in tally.items():
        if n:
            counters[name] = counters.get(name, 0) + n
    if highest == watermark:
        return None
    doc["applied"][partition] = highest
    bump(doc, now)
    return doc


def window_of(enqueued: datetime) -> str:
    """The flow window of a message (its enqueued minute)."""
    return minute_of(enqueued)
