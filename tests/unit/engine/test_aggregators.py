"""Aggregators are pure: add equals merge of single increments, merge is associative, versions guard."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.engine.aggregators import AGGREGATORS, CounterAggregator, OrderAggregator, aggregator_for
from shared.engine.documents import new_document, writable
from shared.engine.views import contribution_of
from shared.pipeline.enrichment import Enricher
from shared.pipeline.pii import Pseudonymiser
from shared.pipeline.raw import RawEvent
from shared.pipeline.validation import validate_batch
from shared.reference import demo_reference_dir, load_reference
from tests.support.samples import NOW, body

ENRICHER = Enricher(load_reference(demo_reference_dir()), Pseudonymiser(b"k" * 32))


def _enriched(source: str, *bodies: bytes):  # type: ignore[no-untyped-def]
    raws = [RawEvent(b, "0", i) for i, b in enumerate(bodies)]
    return ENRICHER.enrich(source, validate_batch(source, raws, NOW).accepted, NOW).enriched  # type: ignore[arg-type]


def test_sales_state_is_the_sum_of_its_events_in_any_grouping() -> None:
    events = _enriched(
        "txn",
        body("txn", 1, merchant_id="DE001"),
        body("txn", 2, merchant_id="DE001", txn_type="refund"),
        body("txn", 3, merchant_id="DE001", txn_type="void"),
    )
    sales = AGGREGATORS[type(events[0].event)]
    assert isinstance(sales, CounterAggregator)
    state = sales.initialize()
    for event in events:
        state = sales.add(state, event)
    left = sales.merge(sales.add(sales.initialize(), events[0]), sales.add(sales.add({}, events[1]), events[2]))
    assert (
        state == left == {"gross_cents": 3045, "sales": 1, "units": 3, "refund_cents": 3045, "refunds": 1, "voids": 1}
    )
    assert sales.result(state) == state


def test_order_state_folds_to_facts_whatever_the_order() -> None:
    placed, shipped = _enriched(
        "fulfillment",
        body(
            "fulfillment", 1, status="placed", status_ts="2026-11-26T10:00:00Z", order_placed_ts="2026-11-26T10:00:00Z"
        ),
        body(
            "fulfillment",
            2,
            status="shipped",
            status_ts="2026-11-26T11:00:00Z",
            promised_ts="2026-11-26T12:00:00Z",
            order_placed_ts="2026-11-26T10:00:00Z",
        ),
    )
    orders = aggregator_for("order")
    assert isinstance(orders, OrderAggregator)
    forwards = orders.result(orders.add(orders.add(orders.initialize(), placed), shipped))
    backwards = orders.result(orders.merge(orders.add([], shipped), orders.add([], placed)))
    assert forwards == backwards
    assert forwards.completion is not None and forwards.placed is not None and not forwards.is_open
    assert forwards.completion[1] - forwards.completion[3] == 3_600_000_000  # one hour in µs


def test_each_event_type_has_one_primary_view() -> None:
    for source in ("txn", "traffic", "ops", "gov", "cost", "ingest"):
        (event,) = _enriched(source, body(source))
        contribution = contribution_of(event)
        assert contribution.doc.view == AGGREGATORS[type(event.event)].view
        assert contribution.counters, source


def test_a_document_of_another_state_version_is_refused() -> None:
    (event,) = _enriched("txn", body("txn"))
    doc = new_document(contribution_of(event).doc) | {"_etag": "x"}
    assert "_etag" not in writable(doc)
    with pytest.raises(ValueError, match="state_version 2"):
        writable(doc | {"state_version": 2})


def test_platform_windows() -> None:
    (cost,) = _enriched("cost", body("cost"))
    (dq,) = _enriched("gov", body("gov"))
    assert contribution_of(cost).doc.window == "2026-11-26T09:00:00Z"
    assert contribution_of(dq).doc.window == "2026-11-26"
    assert datetime(2026, 11, 26, tzinfo=UTC) < NOW
