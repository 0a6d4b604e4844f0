"""Test doubles for the sink tests: a recording implementation of the `RowSink` port and a small retail world.

`RecordingSink` subclasses nothing from Power BI: it is a fake of our own port (rows
kept in memory, failures on demand). `RetailWorld` runs the real ingest and rollup
handlers on the real embedded store, so delta rows are computed from real rollups.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared.handlers.ingest import IngestHandler
from shared.handlers.rollup import RollupHandler
from shared.pipeline.enrichment import Enricher
from shared.pipeline.pii import Pseudonymiser
from shared.pipeline.raw import RawEvent
from shared.reference import Dimension, FxRates, Product, ReferenceData, Store
from shared.sinks.limits import SinkLimits
from shared.sinks.port import Row, SinkError
from shared.stores.embedded import SqliteDocumentStore
from shared.stores.port import DocumentStore
from tests.support.samples import body

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
T0 = datetime(2026, 1, 1, tzinfo=UTC)

REFERENCE = ReferenceData(
    stores=Dimension(
        [
            Store("BER1", "Berlin 1", "EAST", "DE", "Europe/Berlin", T0, None),
            Store("BER2", "Berlin 2", "EAST", "DE", "Europe/Berlin", T0, None),
            Store("LON1", "London 1", "UK", "GB", "Europe/London", T0, None),
            Store("WEB", "Web shop", "ONLINE", "EU", "Europe/Berlin", T0, None, channel="web"),
        ],
        key=lambda s: s.store_id,
    ),
    products=Dimension([Product("P1", "Mug", "Home", "Hardlines", T0, None)], key=lambda p: p.product_id),
    fx=FxRates({"GBP": [(date(2026, 1, 1), Decimal("1.1713"))]}),
)
STORES = ("BER1", "BER2", "LON1", "WEB")


class RecordingSink:
    """Fake of the `RowSink` port: keeps accepted rows per table; raises the queued errors first."""

    def __init__(
        self, limits: SinkLimits | None = None, key: str = "recording", clock: Callable[[], float] | None = None
    ) -> None:
        self._limits = limits or SinkLimits()
        self._key, self._clock = key, clock
        self.sent_at: list[float] = []
        """Clock time of every accepted request (with a `clock`)."""
        self.received: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, int]] = []
        self.errors: list[SinkError] = []

    @property
    def target(self) -> str:
        return f"recording sink {self._key}"

    @property
    def limit_key(self) -> str:
        return self._key

    @property
    def limits(self) -> SinkLimits:
        return self._limits

    def envelope_bytes(self, table: str) -> int:
        return 2

    def send(self, table: str, rows: Sequence[Row]) -> None:
        if self.errors:
            error = self.errors.pop(0)
            self.received.setdefault(table, []).extend(dict(r) for r in rows[: error.accepted_rows])
            raise error
        self.requests.append((table, len(rows)))
        if self._clock is not None:
            self.sent_at.append(self._clock())
        self.received.setdefault(table, []).extend(dict(r) for r in rows)


def ts(minutes_ago: float) -> str:
    """An event time `minutes_ago` before NOW, RFC 3339."""
    return (NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")


class RetailWorld:
    """The real pipeline on an embedded store: send events, roll them up."""

    def __init__(self, folder: Path) -> None:
        self.store: DocumentStore = SqliteDocumentStore(folder / "pulse.db")
        self._ingest = IngestHandler(self.store, Enricher(REFERENCE, Pseudonymiser(b"k" * 32)))
        self._rollup = RollupHandler(self.store)
        self._seq = 0
        self._tokens: dict[str, str | None] = {"views": None, "orders": None}

    def send(self, source: str, *bodies: bytes) -> None:
        raws = []
        for raw in bodies:
            self._seq += 1
            raws.append(RawEvent(raw, "0", self._seq, str(self._seq), NOW))
        self._ingest(source, raws, NOW)  # type: ignore[arg-type]

    def roll_up(self) -> None:
        for container in self._tokens:
            while True:
                page = self.store.change_feed(container, self._tokens[container], 50)
                if not page.docs:
                    break
                self._rollup(container, page.docs, NOW)
                self._tokens[container] = page.continuation

    def sale(self, n: int, store: str, minutes_ago: float, cents: int, qty: int = 1, kind: str = "sale") -> None:
        lines = [{"product_id": "P1", "quantity": qty, "unit_price": cents / 100}]
        currency = "GBP" if store == "LON1" else "EUR"
        raw = body(
            "txn",
            n,
            merchant_id=store,
            txn_type=kind,
            amount=qty * cents / 100,
            currency=currency,
            posted_ts=ts(minutes_ago),
            lines=lines,
            channel="web" if store == "WEB" else "store",
        )
        self.send("txn", raw)

    def visitors(self, n: int, store: str, minutes_ago: float, count: int) -> None:
        self.send("traffic", body("traffic", n, store_id=store, period_start=ts(minutes_ago), visitors=count))

    def order(self, n: int, order: str, store: str, status: str, minutes_ago: float, placed_ago: float) -> None:
        """A status event of `order`, placed `placed_ago` minutes before NOW and promised 30 minutes later."""
        raw = body(
            "fulfillment",
            n,
            order_id=order,
            store_id=store,
            status=status,
            status_ts=ts(minutes_ago),
            order_placed_ts=ts(placed_ago),
            promised_ts=ts(placed_ago - 30),
        )
        self.send("fulfillment", raw)
