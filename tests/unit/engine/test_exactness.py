"""Exactly-once effect, proven against a brute-force recomputation.

Random retail streams with random faults — producer duplicates, shuffles (out of
order), late events, redelivered batches, crashes between two document writes then a
replay from the checkpoint with new batch boundaries, replayed change-feed pages —
go through the real handlers on the real embedded store. Every KPI of every scope and
grain must then equal `recompute` over the distinct accepted events, to the cent.
"""

from __future__ import annotations

import os
import random
import tempfile
import zlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.handlers.ingest import IngestHandler
from shared.handlers.rollup import RollupHandler
from shared.kpis.formulas import KPI_ROW_FIELDS
from shared.kpis.recompute import recompute, recompute_backlog
from shared.kpis.state import GRAINS, SCOPES
from shared.pipeline.enrichment import Enricher
from shared.pipeline.pii import Pseudonymiser
from shared.pipeline.raw import RawEvent
from shared.pipeline.validation import validate_batch
from shared.reference import Dimension, FxRates, Product, ReferenceData, Store
from shared.rollups.query import backlog_by_scope, kpi_rows
from shared.runtime.crash_injection import CrashingStore
from shared.runtime.faults import SimulatedCrash
from shared.stores.embedded import SqliteDocumentStore
from tests.support.samples import body

NOW = datetime(2026, 3, 29, 6, 0, tzinfo=UTC)  # the morning of Europe's DST change
T0 = datetime(2026, 1, 1, tzinfo=UTC)
PSEUDONYMS = Pseudonymiser(b"k" * 32)
MOVE = NOW - timedelta(hours=2) + timedelta(seconds=30)  # BER2 changes region inside a minute
STORES = ["BER1", "BER2", "LON1", "WEB", "GHOST"]  # GHOST is not in the reference data
REFERENCE = ReferenceData(
    stores=Dimension(
        [
            Store("BER1", "Berlin 1", "EAST", "DE", "Europe/Berlin", T0, None),
            Store("BER2", "Berlin 2", "EAST", "DE", "Europe/Berlin", T0, MOVE),
            Store("BER2", "Berlin 2", "NORTH", "DE", "Europe/Berlin", MOVE, None),
            Store("LON1", "London 1", "UK", "GB", "Europe/London", T0, None),
            Store("WEB", "Web shop", "ONLINE", "EU", "Europe/Berlin", T0, None, channel="web"),
        ],
        key=lambda s: s.store_id,
    ),
    products=Dimension([Product("P1", "Mug", "Home", "Hardlines", T0, None)], key=lambda p: p.product_id),
    fx=FxRates({"GBP": [(date(2026, 1, 1), Decimal("1.1713"))]}),
)
# Every KPI of a row but its identity, `as_of` (processing time) and the backlog (compared separately).
COUNTED = tuple(f for f in KPI_ROW_FIELDS[5:] if f not in ("open_backlog", "overdue_backlog"))
STATUSES = ["placed", "picked", "packed", "shipped", "ready_for_pickup", "delivered", "cancelled"]


def _ts(minutes_ago: int, seconds: int = 0) -> str:
    return (NOW - timedelta(minutes=minutes_ago, seconds=seconds)).isoformat().replace("+00:00", "Z")


@st.composite
def streams(draw: st.DrawFn) -> dict[str, list[tuple[str, bytes]]]:
    """Per source, (partition key, body) in producer order, including producer duplicates."""
    out: dict[str, list[tuple[str, bytes]]] = {"txn": [], "traffic": [], "fulfillment": []}
    n = draw(st.integers(1, 60))
    for i in range(n):
        store = draw(st.sampled_from(STORES))
        ago = draw(st.integers(0, 300))  # up to 5 hours back: late and out of order by construction
        if draw(st.integers(0, 9)) == 0:
            ago = 119  # one event in ten in the minute of BER2's move (at :15 it is before, at :57 after)
        kind = draw(st.sampled_from(["sale", "sale", "refund", "void", "traffic", "order"]))
        if kind == "traffic":
            visitors = draw(st.integers(0, 30))
            out["traffic"].append((store, body("traffic", i, store_id=store, period_start=_ts(ago), visitors=visitors)))
        elif kind == "order":
            order = f"{store}-O{draw(st.integers(0, 4))}"
            status = draw(st.sampled_from(STATUSES))
            promised = _ts(ago - draw(st.integers(-120, 120)))
            raw = body(
                "fulfillment",
                i,
                order_id=order,
                store_id=store,
                status=status,
                status_ts=_ts(ago, 7),
                order_placed_ts=_ts(ago + 30),
                promised_ts=promised,
            )
            out["fulfillment"].append((store, raw))
        else:
            cents = draw(st.integers(1, 50_000))
            qty = draw(st.integers(1, 4))
            amount = qty * cents / 100
            currency = "GBP" if store == "LON1" else "EUR"
            lines = [{"product_id": draw(st.sampled_from(["P1", "P-NEW"])), "quantity": qty, "unit_price": cents / 100}]
            out["txn"].append(
                (
                    store,
                    body(
                        "txn",
                        i,
                        merchant_id=store,
                        txn_type=kind,
                        amount=amount,
                        currency=currency,
                        posted_ts=_ts(ago, draw(st.sampled_from([3, 45]))),  # :57 or :15 of a minute
                        lines=lines,
                    ),
                )
            )
    for items in out.values():  # producer duplicates: the same body sent again later
        for item in list(items):
            if draw(st.integers(0, 9)) == 0:
                items.insert(draw(st.integers(0, len(items))), item)
    return out


def _partition(key: str, partitions: int) -> str:
    return str(zlib.crc32(key.encode()) % partitions)


def _consume(handler: IngestHandler, source: str, raws: list[RawEvent], rng: random.Random) -> None:
    """An at-least-once consumer: random batch boundaries, crash -> resume from checkpoint, redeliveries."""
    checkpoint = 0
    while checkpoint < len(raws):
        batch = raws[checkpoint : checkpoint + rng.randint(1, 12)]
        try:
            handler(source, batch, NOW)  # type: ignore[arg-type]
            if rng.random() < 0.2:
                handler(source, batch, NOW)  # type: ignore[arg-type]
        except SimulatedCrash:
            continue  # the host restarts from the checkpoint, with new boundaries
        checkpoint += len(batch)


def _drain_feeds(rollup: RollupHandler, store: CrashingStore, rng: random.Random) -> None:
    for container in ("views", "orders"):
        token = None
        while True:
            page = store.change_feed(container, token, max_items=rng.randint(1, 20))
            if not page.docs:
                break
            try:
                rollup(container, page.docs, NOW)
                if rng.random() < 0.2:
                    rollup(container, page.docs, NOW)  # the lease was lost before the token was saved
            except SimulatedCrash:
                continue
            token = page.continuation


EXAMPLES = int(os.environ.get("PULSE_EXACTNESS_EXAMPLES", "25"))
"""Raise it for a soak run, e.g. PULSE_EXACTNESS_EXAMPLES=500."""


@given(
    stream=streams(),
    seed=st.integers(0, 2**32),
    partitions=st.integers(1, 3),
    crash_rate=st.sampled_from([0, 0.1, 0.3]),
)
@settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
def test_every_kpi_equals_a_batch_recomputation_through_faults(
    stream: dict[str, list[tuple[str, bytes]]], seed: int, partitions: int, crash_rate: float
) -> None:
    rng = random.Random(seed)
    enricher = Enricher(REFERENCE, PSEUDONYMS)
    with tempfile.TemporaryDirectory() as folder:
        real = SqliteDocumentStore(Path(folder) / "pulse.db")
        store = CrashingStore(real, crash_rate, rng)
        ingest, rollup = IngestHandler(store, enricher), RollupHandler(store)
        accepted = []
        for source, items in stream.items():
            by_partition: dict[str, list[bytes]] = {}
            for key, raw in items:
                by_partition.setdefault(_partition(key, partitions), []).append(raw)
            for partition, bodies in by_partition.items():
                raws = [RawEvent(b, partition, seq, str(seq), NOW) for seq, b in enumerate(bodies)]
                _consume(ingest, source, raws, rng)
                validated = validate_batch(source, raws, NOW)  # type: ignore[arg-type]
                # The oracle enriches each event on its own, with no cache shared with the engine's enricher.
                for valid in validated.accepted:
                    alone = Enricher(REFERENCE, PSEUDONYMS).enrich(source, [valid], NOW)  # type: ignore[arg-type]
                    accepted += alone.enriched
            if rng.random() < 0.5:
                _drain_feeds(rollup, store, rng)  # rollups run while later sources still arrive
        _drain_feeds(rollup, store, rng)

        expected = recompute(accepted, NOW)
        for scope in SCOPES:
            for grain in GRAINS:
                got = {(r["key"], r["window"]): r for r in kpi_rows(real, scope, grain, NOW)}
                want = {(k, w): row for (s, k, g, w), row in expected.items() if s == scope and g == grain}
                for member in set(got) | set(want):
                    mine, theirs = got.get(member), want.get(member)
                    assert _counted(mine) == _counted(theirs), (scope, grain, member)
            want_backlog = {k: v for (s, k), v in recompute_backlog(accepted, NOW).items() if s == scope}
            got_backlog = {k: v for k, v in backlog_by_scope(real, scope, NOW).items() if v != (0, 0)}
            assert got_backlog == {k: v for k, v in want_backlog.items() if v != (0, 0)}, scope
        real.close()


def _counted(row: dict | None) -> dict:  # type: ignore[type-arg]
    """The KPI values of a row; a missing row is the all-zero row."""
    if row is None:
        return {
            "transactions": 0,
            "voids": 0,
            "units": 0,
            "visitors": 0,
            "orders_placed": 0,
            "orders_completed": 0,
            "cancellations": 0,
            "gross_sales": Decimal("0.00"),
            "refunds": Decimal("0.00"),
            "net_sales": Decimal("0.00"),
        }
    values = {k: row[k] for k in COUNTED}
    if all(
        not values[k]
        for k in (
            "transactions",
            "voids",
            "units",
            "visitors",
            "orders_placed",
            "orders_completed",
            "cancellations",
            "gross_sales",
            "refunds",
        )
    ):
        return _counted(None)  # a window an order once touched, now empty
    return values
