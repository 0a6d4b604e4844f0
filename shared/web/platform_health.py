"""Pipeline health for the live page: dead-letter rate and end-to-end lag, read off the flow documents.

Flow documents (`shared.engine.flow`) count every message once per source,
partition and *enqueued* minute: received, dead-lettered, and a histogram of the
end-to-end lag (processing time - event time) of accepted events. The health tiles
are pipeline-wide (not split by region or store):

- dead-letter rate: dead-lettered / received over the last `DEAD_LETTER_MINUTES`
  enqueued minutes (the same window as ``GET /api/health``);
- lag p50 / p95 over the last `LAG_MINUTES` enqueued minutes, as the upper bound of
  the histogram bucket holding the percentile (``<= 1 s``), or None beyond the last
  bound (more than a day late);
- behind: when the pipeline has processed nothing enqueued in those minutes although
  it received events earlier in the hour, it is overloaded (or stopped), and the lag
  is at least ``now`` minus the end of the newest enqueued minute it has processed.
  The tiles show that number as a warning instead of an empty lag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from shared.engine.flow import LAG_BOUNDS_MS, flow_key
from shared.engine.views import NO_SEGMENT
from shared.engine.windows import minute_of
from shared.kpis.formulas import rounded_ratio
from shared.stores.port import Document, DocumentStore
from shared.timestamps import parse_rfc3339 as parse_stamp
from shared.topology import SOURCES

__all__ = ["DEAD_LETTER_MINUTES", "LAG_MINUTES", "PlatformHealth", "lag_percentile_ms", "platform_health"]

DEAD_LETTER_MINUTES: Final = 60
LAG_MINUTES: Final = 5
_VIEWS: Final = "views"
_OVERFLOW: Final = "lag_gt_86400000"
_MINUTE_MS: Final = 60_000


@dataclass(frozen=True, slots=True)
class PlatformHealth:
    """The health tiles' numbers."""

    received: int
    dead_lettered: int
    dead_letter_rate: Decimal | None
    """dead_lettered / received, 4 places; None when nothing was received."""
    lagged: int
    """Accepted events in the lag window (the histogram's total)."""
    lag_p50_ms: int | None
    lag_p95_ms: int | None
    """Upper bound of the bucket holding the percentile; None without events or beyond a day."""
    dead_letter_as_of: str | None
    lag_as_of: str | None
    """Newest processing time of a flow document in each window."""
    behind_ms: int | None = None
    """With nothing processed in the lag window but events received before it: how far behind at least."""


def platform_health(store: DocumentStore, now: datetime, live_from: datetime | None = None) -> PlatformHealth:
    """The health tiles as of `now` from the flow documents.

    `live_from`: count only messages enqueued from that minute on (`pulse demo`'s fast-forward of
    the day so far is history loaded before the pipeline went live, not its live rate or lag).
    """
    since = minute_of(now - timedelta(minutes=DEAD_LETTER_MINUTES))
    if live_from is not None:
        since = max(since, minute_of(live_from))
    flows = _flow_documents(store, since, minute_of(now))
    lag_since = minute_of(now - timedelta(minutes=LAG_MINUTES))
    recent = [doc for doc in flows if doc["window"] >= lag_since]
    received = sum(_counter(doc, "received") for doc in flows)
    dead = sum(_counter(doc, "dead_lettered") for doc in flows)
    histogram = _histogram(recent)
    behind_ms = None
    if not recent and flows:  # events arrived this hour, none enqueued in the last minutes is processed
        newest = max(str(doc["window"]) for doc in flows)
        behind_ms = max(0, int((now - parse_stamp(newest)).total_seconds() * 1000) - _MINUTE_MS)
    return PlatformHealth(
        received=received,
        dead_lettered=dead,
        dead_letter_rate=rounded_ratio(dead, received),
        lagged=sum(histogram.values()),
        lag_p50_ms=lag_percentile_ms(histogram, 50),
        lag_p95_ms=lag_percentile_ms(histogram, 95),
        dead_letter_as_of=_newest(flows),
        lag_as_of=_newest(recent),
        behind_ms=behind_ms,
    )


def lag_percentile_ms(histogram: Mapping[str, int], percent: int) -> int | None:
    """The upper bound (ms) of the bucket holding the `percent`-th percentile; None if empty or overflowing."""
    total = sum(histogram.values())
    if total == 0:
        return None
    needed = -(-total * percent // 100)  # ceil: the rank of the percentile event
    seen = 0
    for bound in LAG_BOUNDS_MS:
        seen += histogram.get(f"lag_le_{bound}", 0)
        if seen >= needed:
            return bound
    return None


_FLOW_FIELDS = ("view", "window", "as_of", "segments")
"""What the tiles read of a flow document (not its per-partition watermarks)."""


def _flow_documents(store: DocumentStore, since: str, until: str) -> list[Document]:
    """Flow documents of minutes `since`..`until` (inclusive), read partition by partition (source and UTC day)."""
    days = sorted({since[:10], until[:10]})
    docs: list[Document] = []
    for source in SOURCES:
        for day in days:
            pk = flow_key(source, "0", f"{day}T00:00:00Z").pk
            docs += store.query(
                _VIEWS, pk=pk, where={"view": "flow"}, where_range={"window": (since, None)}, fields=_FLOW_FIELDS
            )
    return docs


def _histogram(docs: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    names = [f"lag_le_{bound}" for bound in LAG_BOUNDS_MS] + [_OVERFLOW]
    return {name: sum(_counter(doc, name) for doc in docs) for name in names}


def _counter(doc: Mapping[str, Any], name: str) -> int:
    return int(doc.get("segments", {}).get(NO_SEGMENT, {}).get(name, 0))


def _newest(docs: Iterable[Mapping[str, Any]]) -> str | None:
    stamps = [str(doc["as_of"]) for doc in docs if doc.get("as_of")]
    return max(stamps) if stamps else None
