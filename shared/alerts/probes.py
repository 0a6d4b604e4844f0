"""Output availability, sampled: once a minute the evaluator records how old the page's data is and how far
behind the Power BI push is, so the `outputs` SLO has a history to be computed from.

A probe ``probe|<minute>`` (container `alerts`, partition ``probe|<UTC date>``) is created
once per minute (a second create conflicts: two evaluators write one probe); it
expires with the container's 90-day default, beyond the 28-day window.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from shared.alerts.documents import ALERTS_CONTAINER, parse_stamp
from shared.engine.windows import minute_of
from shared.rollups.minutes import query_minutes
from shared.stores.port import Document, DocumentStore, WriteOp

__all__ = ["PushLag", "data_age_s", "probe_doc", "write_probe"]

PushLag = Callable[[datetime], float | None]
"""Seconds the oldest row waiting for Power BI has waited (None: no sink here)."""
_RECENT: Final = timedelta(minutes=10)


def data_age_s(store: DocumentStore, now: datetime) -> float | None:
    """Age of the newest chain minute rollup (what the page shows); None when none in the last 10 minutes."""
    docs = query_minutes(store, "chain", minute_of(now - _RECENT), None)
    stamps = [str(d["as_of"]) for d in docs if d.get("as_of")]
    newest = parse_stamp(max(stamps)) if stamps else None
    return None if newest is None else max(0.0, (now - newest).total_seconds())


def probe_doc(now: datetime, age_s: float | None, push_lag_s: float | None) -> Document:
    minute = minute_of(now)
    return {
        "id": f"probe|{minute}",
        "pk": f"probe|{minute[:10]}",
        "type": "probe",
        "minute": minute,
        "data_age_s": None if age_s is None else round(age_s, 3),
        "push_lag_s": None if push_lag_s is None else round(push_lag_s, 3),
    }


def write_probe(store: DocumentStore, now: datetime, push_lag: PushLag | None) -> bool:
    """Record this minute's probe; False when another evaluator did already."""
    doc = probe_doc(now, data_age_s(store, now), None if push_lag is None else push_lag(now))
    (result,) = store.write_many(ALERTS_CONTAINER, [WriteOp.create(doc)])
    return result.ok
