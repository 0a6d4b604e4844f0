"""Aggregators are pure: add equals merge of single increments, merge is associative, versions guard."""

from __future__ import annotations

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


# What each sample event of tests/support/samples.py adds, counted by hand: the sale is 30.45 EUR of
# 2 + 1 units; the cost record is 12.34 USD at the demo set's 0.8640 of 2026-11-26: 10.66176 -> 10.66 EUR.
PRIMARY = {
    "txn": ("sales", "DE-BER-001", "2026-11-26T10:05:00Z", {"gross_cents": 3045, "sales": 1, "units": 3}),
    "traffic": ("traffic", "DE-BER-001", "2026-11-26T10:05:00Z", {"visitors": 7, "traffic_reports": 1}),
    "ops": ("logs", "ingest-fn", "2026-11-26T10:05:00Z", {"error": 1, "logs": 1}),
    "gov": ("dq", "fact_transactions", "2026-11-26", {"pass": 1, "checks": 1}),
    "cost": ("cost", "cc-retail", "2026-11-26T09:00:00Z", {"cost_cents": 1066, "records": 1}),
    "ingest": ("landing", "pos-eu-1", "2026-11-26T10:05:00Z", {"records": 1, "bytes": 512}),
}


@pytest.mark.parametrize("source", sorted(PRIMARY))
def test_each_event_type_has_one_primary_view_and_its_counters(source: str) -> None:
    (event,) = _enriched(source, body(source))
    contribution = contribution_of(event)
    view, key, window, counters = PRIMARY[source]
    assert (contribution.doc.view, contribution.doc.key, contribution.doc.window) == (view, key, window)
    assert AGGREGATORS[type(event.event)].view == view
    assert contribution.counters == counters


def test_a_document_of_another_state_version_is_refused() -> None:
    (event,) = _enriched("txn", body("txn"))
    doc = new_document(contribution_of(event).doc) | {"_etag": "x"}
    assert "_etag" not in writable(doc)
    with pytest.raises(ValueError, match="state_version 2"):
        writable(doc | {"state_version": 2})


def test_platform_windows_are_utc_whatever_the_offset() -> None:
    # 10:59:59.999 UTC is still the 10:00 hour; 00:30 at +01:00 on the 26th is the 25th in UTC.
    (cost,) = _enriched("cost", body("cost", start_ts="2026-11-26T11:59:59.999+01:00", end_ts="2026-11-26T12:30:00Z"))
    (dq,) = _enriched("gov", body("gov", checked_ts="2026-11-26T00:30:00+01:00"))
    (log,) = _enriched("ops", body("ops", message_ts="2026-11-26T11:00:59.999+01:00"))
    assert contribution_of(cost).doc.window == "2026-11-26T10:00:00Z"
    assert contribution_of(dq).doc.window == "2026-11-25"
    assert contribution_of(log).doc.window == "2026-11-26T10:00:00Z"
