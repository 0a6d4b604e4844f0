"""The health summary behind ``GET /api/health``: freshness, dead-letter rate and last batch per source.

Read from what the ingest handler writes anyway: the per-partition progress
documents (lifetime counters, last sequence number, time of the last batch) and the
per-minute flow documents (the recent dead-letter rate). The ``replay`` pseudo
partition of dead-letter replays is not a hub partition and is left out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.engine.documents import stamp
from shared.engine.progress import AUDIT_CONTAINER
from shared.engine.views import NO_SEGMENT
from shared.engine.windows import minute_of
from shared.handlers.dead_letters import REPLAY_PARTITION
from shared.stores.port import Document, DocumentStore
from shared.topology import SOURCES

__all__ = ["RECENT_MINUTES", "health_summary"]

RECENT_MINUTES = 60
"""The recent dead-letter rate covers the last hour of enqueued time."""
_RATE_PLACES = 6


def health_summary(store: DocumentStore, now: datetime, stale_after_s: int) -> dict[str, Any]:
    """Per source: ``ok``, ``stale`` (no batch for `stale_after_s`) or ``no_data``, with the numbers behind it."""
    # Only progress documents carry `updated_at`; a range on it skips the per-batch audit documents.
    progress = [
        doc
        for doc in store.query(AUDIT_CONTAINER, where_range={"updated_at": ("", None)})
        if doc.get("partition") != REPLAY_PARTITION
    ]
    since = minute_of(now - timedelta(minutes=RECENT_MINUTES))
    flows = store.query("views", where={"view": "flow"}, where_range={"window": (since, None)})
    sources = {source: _source_health(source, progress, flows, now, stale_after_s) for source in SOURCES}
    states = {entry["status"] for entry in sources.values()}
    status = "no_data" if states == {"no_data"} else "stale" if "stale" in states else "ok"
    return {"status": status, "as_of": stamp(now), "stale_after_s": stale_after_s, "sources": sources}


def _source_health(
    source: str, progress: list[Document], flows: list[Document], now: datetime, stale_after_s: int
) -> dict[str, Any]:
    mine = [doc for doc in progress if doc.get("source") == source]
    recent = _recent(source, flows)
    if not mine:
        return {"status": "no_data", "partitions": 0, "recent": recent}
    last = max(mine, key=lambda doc: str(doc["updated_at"]))
    age_s = (now - datetime.fromisoformat(str(last["updated_at"]).replace("Z", "+00:00"))).total_seconds()
    totals = {name: sum(int(doc.get(name, 0)) for doc in mine) for name in _TOTALS}
    return {
        "status": "stale" if age_s > stale_after_s else "ok",
        "last_batch_at": last["updated_at"],
        "age_s": round(age_s, 3),
        "last_batch": {"partition": last["partition"], "last_seq": last["last_seq"], "at": last["updated_at"]},
        "partitions": len(mine),
        **totals,
        "dead_letter_rate": _rate(totals["dead_lettered"], totals["received"]),
        "recent": recent,
    }


_TOTALS = ("received", "accepted", "dead_lettered", "duplicates", "batches")


def _recent(source: str, flows: list[Document]) -> dict[str, Any]:
    received = dead = 0
    for doc in flows:
        if doc.get("source") == source:
            counters = doc.get("segments", {}).get(NO_SEGMENT, {})
            received += int(counters.get("received", 0))
            dead += int(counters.get("dead_lettered", 0))
    return {
        "minutes": RECENT_MINUTES,
        "received": received,
        "dead_lettered": dead,
        "dead_letter_rate": _rate(dead, received),
    }


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, _RATE_PLACES)
