"""Issue 16.4: a redelivered message is judged at its first receipt (enqueued time).

A batch crashes half-way; the host restarts hours, then days later (past the
accepted lateness): the retry reaches the verdicts of the first delivery, and the
views and accounting equal a clean run.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from shared.handlers.ingest import IngestHandler
from shared.handlers.rollup import RollupHandler
from shared.pipeline.enrichment import Enricher
from shared.pipeline.pii import Pseudonymiser
from shared.pipeline.raw import RawEvent
from shared.reference import Dimension, FxRates, ReferenceData
from shared.rollups.query import kpi_rows
from shared.runtime.crash_injection import CrashingStore
from shared.runtime.faults import SimulatedCrash
from shared.stores.embedded import SqliteDocumentStore
from shared.stores.port import DocumentStore
from tests.support.samples import body

RECEIVED = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REFERENCE = ReferenceData(
    stores=Dimension([], key=lambda s: s.store_id),
    products=Dimension([], key=lambda p: p.product_id),
    fx=FxRates({"GBP": [(date(2026, 1, 1), Decimal("1.17"))]}),
)


def _raws() -> list[RawEvent]:
    bodies = []
    for n in range(40):
        ts = (RECEIVED - timedelta(days=6, hours=23, minutes=n)).isoformat().replace("+00:00", "Z")  # 7 days old soon
        bodies.append(
            body(
                "txn",
                n,
                posted_ts=ts,
                amount=1.5 + n,
                lines=[{"product_id": "P-1", "quantity": 1, "unit_price": 1.5 + n}],
            )
        )
    bodies += bodies[:5]  # producer duplicates, re-sent later
    return [RawEvent(b, "0", seq, str(seq), RECEIVED + timedelta(seconds=seq)) for seq, b in enumerate(bodies)]


def _run(store: DocumentStore, real: DocumentStore, now: datetime) -> list[dict[str, object]]:
    ingest = IngestHandler(store, Enricher(REFERENCE, Pseudonymiser(b"k" * 32)))
    raws = _raws()
    checkpoint = 0
    while checkpoint < len(raws):
        batch = raws[checkpoint : checkpoint + 10]
        try:
            ingest("txn", batch, now)
        except SimulatedCrash:
            now += timedelta(hours=5)  # the host restarts later, past the lateness limit at the second time
            continue
        checkpoint += len(batch)
    rollup = RollupHandler(real)
    token = None
    while (page := real.change_feed("views", token)).docs:
        rollup("views", page.docs, now)
        token = page.continuation
    return [{k: v for k, v in row.items() if k != "as_of"} for row in kpi_rows(real, "store", "day", now)]


def _progress(store: DocumentStore) -> dict[str, int]:
    [doc] = [d for d in store.query("audit") if d["id"].startswith("progress|")]
    return {k: doc[k] for k in ("received", "accepted", "dead_lettered", "duplicates")}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_restart_at_a_later_processing_time_counts_as_a_clean_run(tmp_path: Path, seed: int) -> None:
    clean = SqliteDocumentStore(tmp_path / "clean.db")
    want = _run(clean, clean, RECEIVED)
    real = SqliteDocumentStore(tmp_path / "crashed.db")
    crashing = CrashingStore(real, 0.3, random.Random(seed))
    got = _run(crashing, real, RECEIVED + timedelta(hours=1))
    assert crashing.crashes > 0
    assert got == want
    assert _progress(real) == _progress(clean) == {"received": 45, "accepted": 40, "dead_lettered": 0, "duplicates": 5}
    assert real.query("deadletters") == []


def test_a_retry_days_later_still_judges_at_receipt(tmp_path: Path) -> None:
    store = SqliteDocumentStore(tmp_path / "pulse.db")
    ingest = IngestHandler(store, Enricher(REFERENCE, Pseudonymiser(b"k" * 32)))
    outcome = ingest("txn", _raws(), RECEIVED + timedelta(days=3))
    assert (outcome.accepted, outcome.duplicates, outcome.dead_lettered) == (40, 5, 0)
