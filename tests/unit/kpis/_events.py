"""Real enriched events for the KPI tests: bodies through validation and enrichment, tiny reference data."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from shared.pipeline.enriched import EnrichedEvent
from shared.pipeline.enrichment import Enricher
from shared.pipeline.pii import Pseudonymiser
from shared.pipeline.raw import RawEvent
from shared.pipeline.validation import validate_batch
from shared.reference import Dimension, FxRates, Product, ReferenceData, Store
from shared.topology import Source
from tests.support.samples import body

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
"""Processing time: every test event is on 2026-11-25 or 2026-11-26, within the lateness."""

_T0 = datetime(2026, 1, 1, tzinfo=UTC)


_MOVE = datetime(2026, 11, 26, 10, 30, tzinfo=UTC)
"""MOVER leaves region NORTH for SOUTH at this instant (SCD type 2)."""


def _store(
    store_id: str, region: str, tz: str, channel: Any = "store", start: datetime = _T0, end: datetime | None = None
) -> Store:
    return Store(store_id, store_id, region, "DE", tz, start, end, channel=channel)


REFERENCE = ReferenceData(
    stores=Dimension(
        [
            _store("BER-1", "EAST", "Europe/Berlin"),
            _store("BER-2", "EAST", "Europe/Berlin"),
            _store("BER-3", "EAST", "Europe/Berlin"),
            _store("LON-1", "UK", "Europe/London"),
            _store("WEB", "ONLINE", "Europe/Berlin", channel="web"),
            _store("MOVER", "NORTH", "Europe/Berlin", end=_MOVE),
            _store("MOVER", "SOUTH", "Europe/Berlin", start=_MOVE),
        ],
        key=lambda s: s.store_id,
    ),
    products=Dimension([Product("P00001", "Mug", "Home", "Hardlines", _T0, None)], key=lambda p: p.product_id),
    fx=FxRates({"USD": [(date(2026, 1, 1), Decimal("0.9123"))]}),
)


def enrich(source: Source, bodies: list[bytes], now: datetime = NOW) -> list[EnrichedEvent]:
    """`bodies` of one source through the real validation and enrichment; all must be accepted."""
    validated = validate_batch(source, [RawEvent(b, "0", i) for i, b in enumerate(bodies)], now)
    assert validated.dead_letters == []
    result = Enricher(REFERENCE, Pseudonymiser(b"k" * 32)).enrich(source, validated.accepted, now)
    assert result.dead_letters == []
    return result.enriched


def txn(n: int, store: str, kind: str, amount: float, ts: str, units: int = 1) -> bytes:
    """A transaction body of `units` units of one product (lines match the amount only when units=1)."""
    channel = "web" if store == "WEB" else "store"
    lines = [{"product_id": "P00001", "quantity": units, "unit_price": amount}]
    return body("txn", n, merchant_id=store, channel=channel, txn_type=kind, amount=amount, posted_ts=ts, lines=lines)


def footfall(n: int, store: str, visitors: int, ts: str) -> bytes:
    """A footfall count of `visitors` starting at `ts`."""
    return body("traffic", n, store_id=store, visitors=visitors, period_start=ts)


def status(n: int, order: str, state: str, ts: str, promised: str, store: str = "BER-1", placed: str = "") -> bytes:
    """An order status event; `order_placed_ts` defaults to `ts`."""
    return body(
        "fulfillment",
        n,
        order_id=order,
        store_id=store,
        status=state,
        status_ts=ts,
        order_placed_ts=placed or ts,
        promised_ts=promised,
    )
