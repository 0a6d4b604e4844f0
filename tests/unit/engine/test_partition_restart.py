"""A partition that counts from 0 again (a hub re-created) is stopped loudly, never skipped as applied.

A redelivery is the same message: its enqueued time is no later than the last applied
one's. A new message with an old number is enqueued after it: the ingest handler raises
`PartitionRestarted` and counts nothing, where it used to skip the message silently.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from shared.engine.progress import PartitionRestarted, read_progress
from shared.handlers.ingest import IngestHandler
from shared.pipeline.enrichment import Enricher
from shared.pipeline.pii import Pseudonymiser
from shared.pipeline.raw import RawEvent
from shared.reference import Dimension, FxRates, ReferenceData
from shared.stores.embedded import SqliteDocumentStore
from tests.support.samples import body

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REFERENCE = ReferenceData(
    stores=Dimension([], key=lambda s: s.store_id),
    products=Dimension([], key=lambda p: p.product_id),
    fx=FxRates({"GBP": [(date(2026, 1, 1), Decimal("1.17"))]}),
)


def _batch(first_n: int, enqueued: datetime) -> list[RawEvent]:
    posted = (T0 - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    bodies = [body("txn", first_n + i, posted_ts=posted) for i in range(5)]
    return [RawEvent(b, "0", seq, str(seq), enqueued + timedelta(milliseconds=seq)) for seq, b in enumerate(bodies)]


def test_a_redelivery_is_skipped_and_a_restarted_partition_stops_loudly(tmp_path: Path) -> None:
    with SqliteDocumentStore(tmp_path / "s.db") as store:
        ingest = IngestHandler(store, Enricher(REFERENCE, Pseudonymiser(b"k" * 32)))
        first = _batch(0, T0)
        assert ingest("txn", first, T0 + timedelta(seconds=1)).accepted == 5
        progress = read_progress(store, "txn", "0")
        assert progress is not None and progress["last_enqueued"] == first[-1].enqueued_time.isoformat()

        again = ingest("txn", first, T0 + timedelta(hours=2))  # a redelivery hours later: the same messages
        assert (again.replayed, again.accepted) == (5, 0)

        restarted = _batch(100, T0 + timedelta(hours=1))  # other events, numbered 0..4 again, enqueued later
        with pytest.raises(PartitionRestarted, match=r"txn partition 0: message 0 was enqueued at .* numbering"):
            ingest("txn", restarted, T0 + timedelta(hours=1, seconds=1))
        after = read_progress(store, "txn", "0")
        assert after is not None and (after["last_seq"], after["accepted"]) == (4, 5)  # nothing counted


def test_a_message_replayed_from_azure_capture_to_the_second_is_still_a_redelivery(tmp_path: Path) -> None:
    with SqliteDocumentStore(tmp_path / "s.db") as store:
        ingest = IngestHandler(store, Enricher(REFERENCE, Pseudonymiser(b"k" * 32)))
        # Capture's ``M/d/yyyy h:mm:ss AM``: the same messages with their milliseconds lost
        to_the_second = [r._replace(enqueued_time=T0) for r in _batch(0, T0 + timedelta(milliseconds=900))]
        assert ingest("txn", to_the_second, T0 + timedelta(seconds=1)).accepted == 5
        live = _batch(0, T0 + timedelta(milliseconds=900))  # redelivered by the trigger with milliseconds
        assert ingest("txn", live, T0 + timedelta(seconds=2)).replayed == 5
