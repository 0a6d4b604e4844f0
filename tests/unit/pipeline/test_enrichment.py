"""Enrichment: dimensions as of event time, local business dates, FX to the cent, pseudonyms, inferred members."""

from __future__ import annotations

import hmac
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.pipeline.dead_letters import ReasonCode
from shared.pipeline.enriched import UNASSIGNED, IssueCode
from shared.pipeline.enrichment import Enricher
from shared.pipeline.pii import Pseudonymiser
from shared.pipeline.raw import RawEvent
from shared.pipeline.validation import validate_batch
from shared.reference import Dimension, FxRates, Product, ReferenceData, Store
from tests.support.samples import body

KEY = b"k" * 32
T0 = datetime(2026, 1, 1, tzinfo=UTC)
MOVE = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
MID_MINUTE = datetime(2026, 11, 26, 10, 0, 30, tzinfo=UTC)


def _store(store_id: str, region: str, tz: str, start: datetime = T0, end: datetime | None = None) -> Store:
    return Store(store_id, store_id, region, "DE", tz, start, end)


REFERENCE = ReferenceData(
    stores=Dimension(
        [
            _store("DE-BER-001", "EAST", "Europe/Berlin"),
            _store("GB-LON-001", "UK", "Europe/London"),
            _store("MOVER", "NORTH", "Europe/Berlin", end=MOVE),
            _store("MOVER", "SOUTH", "Europe/Berlin", start=MOVE),
            _store("HALF", "NORTH", "Europe/Berlin", end=MID_MINUTE),
            _store("HALF", "SOUTH", "Europe/Berlin", start=MID_MINUTE),
            _store("OPENS", "WEST", "Europe/Berlin", start=MID_MINUTE),
        ],
        key=lambda s: s.store_id,
    ),
    products=Dimension(
        [
            Product("P00001", "Mug", "Home", "Hardlines", T0, None),
            Product("P00002", "Tee", "Apparel", "Softlines", T0, None),
        ],
        key=lambda p: p.product_id,
    ),
    fx=FxRates(
        {
            "GBP": [(date(2026, 11, 20), Decimal("1.1000")), (date(2026, 11, 26), Decimal("1.1500"))],
            "USD": [(date(2026, 1, 1), Decimal("0.9123"))],
        }
    ),
)


def _enrich(source: str, *bodies: bytes, now: datetime = datetime(2026, 11, 26, 23, 59, tzinfo=UTC)):  # type: ignore[no-untyped-def]
    validated = validate_batch(source, [RawEvent(b, "0", i) for i, b in enumerate(bodies)], now)  # type: ignore[arg-type]
    assert validated.dead_letters == []
    return Enricher(REFERENCE, Pseudonymiser(KEY)).enrich(source, validated.accepted, now)  # type: ignore[arg-type]


def test_transaction_gets_store_attributes_units_categories_and_reporting_cents() -> None:
    (event,) = _enrich("txn", body("txn")).enriched
    assert event.store is not None
    assert (event.store.region, event.store.timezone, event.store.inferred) == ("EAST", "Europe/Berlin", False)
    assert event.amount_cents == 3045
    assert event.units == 3
    assert event.categories == ("Home", "Apparel")
    assert event.issues == ()


@pytest.mark.parametrize(
    ("posted", "amount", "expected_cents"),
    [
        ("2026-11-26T00:00:00Z", 0.05, 6),  # 0.05 * 1.15 = 0.0575 -> 0.06
        ("2026-11-25T23:59:59Z", 0.05, 6),  # 0.05 * 1.10 = 0.055 -> half away from zero -> 0.06
        ("2026-11-25T23:59:59Z", 0.15, 17),  # 0.165 -> 0.17
        ("2026-11-23T10:00:00Z", 100.00, 11000),  # the latest rate on or before the UTC date
        ("2026-11-26T10:00:00Z", 999999.99, 114999999),  # 1149999.9885 -> 1149999.99
    ],
)
def test_fx_uses_the_rate_of_the_utc_event_date_rounded_half_away_from_zero(
    posted: str, amount: float, expected_cents: int
) -> None:
    raw = body(
        "txn",
        currency="GBP",
        amount=amount,
        posted_ts=posted,
        lines=[{"product_id": "P00001", "quantity": 1, "unit_price": amount}],
    )
    (event,) = _enrich("txn", raw).enriched
    assert event.amount_cents == expected_cents


def test_unknown_currency_is_dead_lettered_and_the_rest_goes_on() -> None:
    result = _enrich("txn", body("txn", 1), body("txn", 2, currency="XYZ"), body("txn", 3))
    assert [e.event.event_id for e in result.enriched] == ["txn-000001", "txn-000003"]
    (letter,) = result.dead_letters
    assert letter.reason_code == ReasonCode.UNKNOWN_CURRENCY
    assert letter.reason == "no EUR rate for currency XYZ on or before 2026-11-26"
    assert letter.event_id == "txn-000002"


def test_rate_before_the_first_known_date_is_unknown() -> None:
    now = datetime(2026, 11, 20, tzinfo=UTC)
    result = _enrich("txn", body("txn", currency="GBP", posted_ts="2026-11-19T10:00:00Z"), now=now)
    assert result.dead_letters[0].reason_code == ReasonCode.UNKNOWN_CURRENCY


def test_cost_is_converted_too() -> None:
    (event,) = _enrich("cost", body("cost", cost_amount=12.34)).enriched
    assert event.amount_cents == 1126  # 12.34 USD * 0.9123 = 11.257782


def test_a_store_version_that_changes_inside_a_minute_applies_to_the_second() -> None:
    # The enricher caches a store's context per minute; a version boundary inside the minute must not leak.
    times = ["10:00:10", "10:00:50", "10:00:29", "10:00:30", "10:00:10"]
    bodies = [
        body("txn", i, merchant_id=store, posted_ts=f"2026-11-26T{t}Z")
        for i, (store, t) in enumerate([(s, t) for s in ("HALF", "OPENS") for t in times])
    ]
    enriched = _enrich("txn", *bodies).enriched
    regions = [e.store.region for e in enriched if e.store is not None]
    assert regions == ["NORTH", "SOUTH", "NORTH", "SOUTH", "NORTH", UNASSIGNED, "WEST", UNASSIGNED, "WEST", UNASSIGNED]
    unknown = [IssueCode.UNKNOWN_STORE in {i.code for i in e.issues} for e in enriched]
    assert unknown == [False] * 5 + [True, False, True, False, True]
    assert {e.minute for e in enriched} == {"2026-11-26T10:00:00Z"}


def test_unknown_store_and_product_are_inferred_members_with_issues() -> None:
    raw = body("txn", merchant_id="NEW-STORE", lines=[{"product_id": "P-NEW", "quantity": 1, "unit_price": 30.45}])
    (event,) = _enrich("txn", raw).enriched
    assert event.store is not None
    assert (event.store.region, event.store.inferred, event.store.business_date) == (
        UNASSIGNED,
        True,
        date(2026, 11, 26),
    )
    assert event.categories == (UNASSIGNED,)
    assert {issue.code for issue in event.issues} == {IssueCode.UNKNOWN_STORE, IssueCode.UNKNOWN_PRODUCT}
    assert event.amount_cents == 3045  # still counted


def test_line_sum_mismatch_is_an_issue_not_a_rejection() -> None:
    raw = body("txn", amount=31.00)
    (event,) = _enrich("txn", raw).enriched
    assert [i.code for i in event.issues] == [IssueCode.LINE_SUM_MISMATCH]
    assert event.amount_cents == 3100


def test_store_attributes_are_taken_as_of_event_time_scd2() -> None:
    before = body("traffic", 1, store_id="MOVER", period_start="2026-11-26T09:59:59.999Z")
    at = body("traffic", 2, store_id="MOVER", period_start="2026-11-26T10:00:00Z")
    regions = [e.store.region for e in _enrich("traffic", before, at).enriched if e.store]
    assert regions == ["NORTH", "SOUTH"]


@pytest.mark.parametrize(
    ("store", "ts", "local_date"),
    [
        ("DE-BER-001", "2026-11-25T22:59:59Z", date(2026, 11, 25)),  # 23:59:59 CET
        ("DE-BER-001", "2026-11-25T23:00:00Z", date(2026, 11, 26)),  # local midnight
        ("GB-LON-001", "2026-11-25T23:30:00Z", date(2026, 11, 25)),  # 23:30 GMT
        ("DE-BER-001", "2026-03-28T22:59:00Z", date(2026, 3, 28)),  # day before the DST change, CET
        ("DE-BER-001", "2026-03-29T21:59:00Z", date(2026, 3, 29)),  # 23:59 CEST: the short day
        ("DE-BER-001", "2026-03-29T22:00:00Z", date(2026, 3, 30)),  # midnight CEST
        ("GB-LON-001", "2026-10-25T23:30:00Z", date(2026, 10, 25)),  # after fall-back, 23:30 GMT
        ("GB-LON-001", "2026-10-24T23:30:00Z", date(2026, 10, 25)),  # 00:30 BST
    ],
)
def test_business_date_is_the_store_local_date_across_time_zones_and_dst(store: str, ts: str, local_date: date) -> None:
    now = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    (event,) = _enrich("traffic", body("traffic", store_id=store, period_start=ts), now=now).enriched
    assert event.store is not None
    assert event.store.business_date == local_date


def test_customer_id_is_pseudonymised_stably_and_keyed() -> None:
    first = _enrich("txn", body("txn", 1), body("txn", 2)).enriched
    assert first[0].customer_ref == first[1].customer_ref
    assert first[0].customer_ref is not None and "cust-42" not in first[0].customer_ref
    assert len(first[0].customer_ref) == 64
    assert Pseudonymiser(KEY).pseudonym("cust-42") == first[0].customer_ref
    assert Pseudonymiser(b"other-key-" * 4).pseudonym("cust-42") != first[0].customer_ref
    (anonymous,) = _enrich("txn", body("txn", customer_id=None)).enriched
    assert anonymous.customer_ref is None


@settings(max_examples=200, deadline=None)
@given(key=st.binary(min_size=32, max_size=200), identifier=st.text(max_size=80))
def test_pseudonyms_are_standard_hmac_sha256(key: bytes, identifier: str) -> None:
    # Keys longer than SHA-256's 64-byte block are hashed first (RFC 2104); both paths are drawn.
    expected = hmac.digest(key, identifier.encode("utf-8"), "sha256").hex()
    assert Pseudonymiser(key).pseudonym(identifier) == expected


def test_a_short_pii_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        Pseudonymiser(b"short")
