"""Issue 14: primary documents hold aggregates and a watermark, not an id per event; rollups coalesce per page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from shared.engine.documents import event_hash
from shared.handlers.ingest import IngestHandler
from shared.handlers.rollup import RollupHandler
from shared.pipeline.enrichment import Enricher
from shared.pipeline.pii import Pseudonymiser
from shared.pipeline.raw import RawEvent
from shared.reference import Dimension, FxRates, Product, ReferenceData, Store
from shared.rollups.query import kpi_rows
from shared.stores.embedded import SqliteDocumentStore
from tests.support.samples import body

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
BERLIN = Store("DE-BER-001", "Berlin", "EAST", "DE", "Europe/Berlin", T0, None)
REFERENCE = ReferenceData(
    stores=Dimension([BERLIN], key=lambda s: s.store_id),
    products=Dimension([Product("P-1", "Mug", "Home", "Hardlines", T0, None)], key=lambda p: p.product_id),
    fx=FxRates({"EUR": [(date(2026, 1, 1), Decimal("1"))], "KWD": [(date(2026, 1, 1), Decimal("900000"))]}),
)
HOUR = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> SqliteDocumentStore:
    return SqliteDocumentStore(tmp_path / "pulse.db")


def _sale(n: int, minute: int) -> bytes:
    ts = (HOUR + timedelta(minutes=minute, seconds=n % 50)).isoformat().replace("+00:00", "Z")
    lines = [{"product_id": "P-1", "quantity": 1, "unit_price": 2.5}]
    return body("txn", n, merchant_id="DE-BER-001", amount=2.5, posted_ts=ts, lines=lines)


def _raws(bodies: list[bytes], first: int = 0) -> list[RawEvent]:
    return [RawEvent(b, "0", first + i, str(first + i), NOW) for i, b in enumerate(bodies)]


def _handler(store: SqliteDocumentStore) -> IngestHandler:
    return IngestHandler(store, Enricher(REFERENCE, Pseudonymiser(b"k" * 32)))


def test_a_primary_document_keeps_a_watermark_and_no_id_per_event(store: SqliteDocumentStore) -> None:
    ingest = _handler(store)
    ingest("txn", _raws([_sale(n, 5) for n in range(40)]), NOW)
    minute = "2026-11-26T10:05:00Z"
    doc = store.read("views", "sales|DE-BER-001|2026-11-26", f"sales|DE-BER-001|{minute}")
    assert doc is not None and doc["applied"] == {"0": 39} and "ids" not in doc
    assert sum(c["sales"] for c in doc["segments"].values()) == 40
    store.delete("audit", "progress|txn|0", "progress|txn|0")  # as if the crash came before the progress write
    again = ingest("txn", _raws([_sale(n, 5) for n in range(40)]), NOW)
    assert (again.accepted, again.duplicates, again.replayed) == (40, 0, 0)  # the same messages: still accepted
    doc = store.read("views", "sales|DE-BER-001|2026-11-26", f"sales|DE-BER-001|{minute}")
    assert doc is not None and sum(c["sales"] for c in doc["segments"].values()) == 40  # and not counted twice


def test_a_document_written_before_the_watermark_still_honours_its_id_map(store: SqliteDocumentStore) -> None:
    raws = _raws([_sale(n, 7) for n in range(3)])
    _handler(store)("txn", raws[:1], NOW)  # makes the document; now turn it into an old one
    doc_id = "sales|DE-BER-001|2026-11-26T10:07:00Z"
    old = store.read("views", "sales|DE-BER-001|2026-11-26", doc_id)
    assert old is not None
    old = {k: v for k, v in old.items() if not k.startswith("_")}
    event_id = "txn-000000"
    assert event_id in raws[0].body.decode()
    old["applied"], old["ids"] = {}, {event_hash(event_id): "0:0"}
    store.upsert("views", old)
    store.delete("audit", "progress|txn|0", "progress|txn|0")
    outcome = _handler(store)("txn", raws, NOW)
    assert outcome.accepted == 3
    doc = store.read("views", "sales|DE-BER-001|2026-11-26", doc_id)
    assert doc is not None and sum(c["sales"] for c in doc["segments"].values()) == 3  # event 0 once


def test_a_refused_event_below_the_watermark_keeps_its_verdict_on_a_replay(store: SqliteDocumentStore) -> None:
    # 10 million KWD is 9e14 EUR cents: ten fit under 2**53 - 1 at one document, the next two do not.
    lines = [{"product_id": "P-1", "quantity": 1, "unit_price": 10_000_000.0}]
    ts = (HOUR + timedelta(minutes=3)).isoformat().replace("+00:00", "Z")
    huge = [body("txn", n, amount=10_000_000.0, currency="KWD", posted_ts=ts, lines=lines) for n in range(12)]
    cheap = body("txn", 99, amount=1.0, posted_ts=ts, lines=[{"product_id": "P-1", "quantity": 1, "unit_price": 1.0}])
    raws = _raws([*huge[:10], huge[10], cheap, huge[11]])  # a refused event, then one written after it
    first = _handler(store)("txn", raws, NOW)
    store.delete("audit", "progress|txn|0", "progress|txn|0")  # a crash before the progress write: a replay
    again = _handler(store)("txn", raws, NOW)
    for outcome in (first, again):
        assert (outcome.accepted, outcome.dead_letters_by_reason) == (11, {"value_out_of_range": 2})
    doc = store.read("views", "sales|DE-BER-001|2026-11-26", "sales|DE-BER-001|2026-11-26T10:03:00Z")
    assert doc is not None and doc["applied"] == {"0": 12} and sorted(doc["refused"]) == ["0:10", "0:12"]


def test_an_hour_and_a_day_are_written_once_per_page_however_many_minutes_change(store: SqliteDocumentStore) -> None:
    _handler(store)("txn", _raws([_sale(n, n % 30) for n in range(90)]), NOW)  # 30 minutes of one hour
    page = store.change_feed("views", None, 1000)
    sales = [d for d in page.docs if d.get("view") == "sales"]
    assert len(sales) == 30 and not any("ids" in d for d in sales)  # the feed carries aggregates only
    RollupHandler(store)("views", page.docs, NOW)
    hour = store.read("rollups", "kpi|store|DE-BER-001|2026-11-26", "kpi|store|DE-BER-001|hour|2026-11-26T10:00:00Z")
    chain = store.read("rollups", "kpi|chain|ALL|2026-11-26", "kpi|chain|ALL|hour|2026-11-26T10:00:00Z")
    day = store.read("rollups", "kpi|store|DE-BER-001|2026-11-26", "kpi|store|DE-BER-001|day|2026-11-26")
    assert hour is not None and day is not None and chain is not None
    assert (hour["v"], day["v"], chain["v"], len(hour["children"])) == (1, 1, 1, 30)  # one write each, 30 children
    [row] = kpi_rows(store, "store", "day", NOW)
    assert row["transactions"] == 90 and row["net_sales"] == Decimal("225.00")


def _status(n: int, status: str, minute: int, placed_minute: int = 5) -> bytes:
    def at(m: int) -> str:
        return (HOUR + timedelta(minutes=m)).isoformat().replace("+00:00", "Z")

    return body("fulfillment", n, status=status, status_ts=at(minute), order_placed_ts=at(placed_minute))


def _store_minute(store: SqliteDocumentStore, minute: int) -> dict[str, object]:
    window = (HOUR + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:00Z")
    doc = store.read("rollups", "kpi|store|DE-BER-001|2026-11-26", f"kpi|store|DE-BER-001|minute|{window}")
    assert doc is not None
    return doc


@pytest.mark.parametrize("written_before_minute_versions", [False, True])
def test_an_order_update_rewrites_only_the_minutes_whose_part_changed(
    store: SqliteDocumentStore, written_before_minute_versions: bool
) -> None:
    ingest, rollup, token = _handler(store), RollupHandler(store), None

    def roll() -> list[dict[str, object]]:
        nonlocal token
        page = store.change_feed("orders", token, 1000)
        token = page.continuation
        rollup("orders", page.docs, NOW)
        return page.docs

    ingest("fulfillment", _raws([_status(1, "placed", 5)]), NOW)
    [placed_version] = roll()
    if written_before_minute_versions:  # as a build before minute versions wrote it
        order = store.read("orders", "DE-BER-001", "order|O-1")
        assert order is not None and order["minute_v"] == {"29928125": 1}
        store.upsert("orders", {k: v for k, v in order.items() if k != "minute_v" and not k.startswith("_")})
        roll()
    placed_minute = _store_minute(store, 5)

    ingest("fulfillment", _raws([_status(2, "shipped", 40)], first=1), NOW)
    roll()
    order = store.read("orders", "DE-BER-001", "order|O-1")
    assert order is not None and order["minute_v"]["29928125"] < order["v"] == order["minute_v"]["29928160"]
    assert _store_minute(store, 5)["v"] == placed_minute["v"]  # the placed minute is not written again
    assert _store_minute(store, 40)["segments"] != {}
    [hour] = kpi_rows(store, "store", "hour", NOW)
    assert (hour["orders_placed"], hour["orders_completed"]) == (1, 1)

    rollup("orders", [placed_version], NOW)  # a stale page (the order before its shipment) changes nothing
    [hour] = kpi_rows(store, "store", "hour", NOW)
    assert (hour["orders_placed"], hour["orders_completed"]) == (1, 1)

    ingest("fulfillment", _raws([_status(3, "placed", 2, placed_minute=2)], first=2), NOW)  # placed earlier, late
    roll()
    assert _store_minute(store, 5)["v"] > placed_minute["v"]  # its part changed: no longer placed there
    rows = {row["window"]: row for row in kpi_rows(store, "store", "minute", NOW)}
    assert rows["2026-11-26T10:02:00Z"]["orders_placed"] == 1
    assert rows["2026-11-26T10:05:00Z"]["orders_placed"] == 0
    [hour] = kpi_rows(store, "store", "hour", NOW)
    assert (hour["orders_placed"], hour["orders_completed"]) == (1, 1)
