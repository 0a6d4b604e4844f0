"""Issue 16: no event can stop the pipeline, on the embedded store and on Cosmos DB (npm server).

Hostile producers send values at and past every contract bound, sums that would
pass the stores' exact integer range, and bodies a store refuses. Invariants: no
batch fails because of its content; every valid event counts once; every invalid
one is a dead letter with a reason; the store stays usable (a valid stream
afterwards ingests fully and its KPIs equal the recomputation).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from shared.engine.bounds import MAX_STORED_INT
from shared.handlers.ingest import IngestHandler
from shared.handlers.rollup import RollupHandler
from shared.kpis.recompute import recompute
from shared.pipeline.enrichment import Enricher
from shared.pipeline.pii import Pseudonymiser
from shared.pipeline.raw import RawEvent
from shared.reference import Dimension, FxRates, Product, ReferenceData, Store
from shared.rollups.query import kpi_rows
from shared.runtime.crash_injection import CrashingStore
from shared.runtime.faults import SimulatedCrash
from shared.stores import DocumentStore, SqliteDocumentStore
from shared.stores.port import RejectedWrite, WriteOp, WriteResult
from tests.fixtures.emulators import CosmosTarget
from tests.support.samples import body

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
REFERENCE = ReferenceData(
    stores=Dimension(
        [
            Store("DE-BER-001", "Berlin", "EAST", "DE", "Europe/Berlin", T0, None),
            Store("DE-HAM-001", "Hamburg", "NORTH", "DE", "Europe/Berlin", T0, None),
        ],
        key=lambda s: s.store_id,
    ),
    products=Dimension([Product("P-1", "Mug", "Home", "Hardlines", T0, None)], key=lambda p: p.product_id),
    fx=FxRates({"KWD": [(date(2026, 1, 1), Decimal("900000"))]}),  # absurd on purpose: sums near 2**53
)


@pytest.fixture(params=["embedded", pytest.param("cosmos", marks=pytest.mark.emulator)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DocumentStore]:
    if request.param == "embedded":
        with SqliteDocumentStore(tmp_path / "pulse.db") as embedded:
            yield embedded
    else:
        target: CosmosTarget = request.getfixturevalue("cosmos_target")
        with target.open_store() as cosmos:
            yield cosmos


def _ts(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")


def _sale(n: int, *, store: str = "DE-BER-001", amount: float = 12.5, currency: str = "EUR", qty: int = 1) -> bytes:
    lines = [{"product_id": "P-1", "quantity": qty, "unit_price": round(amount / qty, 2)}]
    return body("txn", n, merchant_id=store, amount=amount, currency=currency, posted_ts=_ts(30), lines=lines)


def _raws(bodies: Sequence[bytes], partition: str = "0", first: int = 0) -> list[RawEvent]:
    return [RawEvent(b, partition, first + i, str(first + i), NOW) for i, b in enumerate(bodies)]


def _drain(rollup: RollupHandler, store: DocumentStore) -> None:
    for container in ("views", "orders"):
        token = None
        while (page := store.change_feed(container, token, max_items=50)).docs:
            rollup(container, page.docs, NOW)
            token = page.continuation


def _big_quantity(n: int, quantity: str) -> bytes:
    """A sale whose line quantity is `quantity` written out (orjson cannot write ints past 64 bits)."""
    return _sale(n, qty=7).replace(b'"quantity":7', b'"quantity":' + quantity.encode())


POISON: dict[str, tuple[str, bytes, str]] = {
    "quantity 10**29": ("txn", _big_quantity(101, "1" + "0" * 29), "invalid_field"),
    "quantity 2**64": ("txn", _big_quantity(102, str(2**64)), "invalid_field"),
    "quantity past the bound": ("txn", _big_quantity(103, "10001"), "invalid_field"),
    "amount 12.5000000001": ("txn", _sale(104, amount=12.5000000001), "invalid_field"),
    "amount 12.4999999999": ("txn", _sale(105, amount=12.4999999999), "invalid_field"),
    "amount 1e-10": ("txn", _sale(106, amount=0.0000000001), "invalid_field"),
    "posted_ts without seconds": ("txn", body("txn", 107, posted_ts="2026-11-26T11:30Z"), "invalid_field"),
    "visitors 10**30": (
        "traffic",
        body("traffic", 108, store_id="DE-BER-001", period_start=_ts(30), visitors=7).replace(
            b'"visitors":7', b'"visitors":1' + b"0" * 30
        ),
        "invalid_field",
    ),
    "order placed in year 1": (
        "fulfillment",
        body("fulfillment", 109, status_ts=_ts(30), order_placed_ts="0001-01-01T00:00:00Z"),
        "invalid_field",
    ),
}


@pytest.mark.parametrize("case", list(POISON))
def test_a_poison_event_is_a_dead_letter_and_its_batch_is_applied(store: DocumentStore, case: str) -> None:
    source, poison, reason = POISON[case]
    ingest = IngestHandler(store, Enricher(REFERENCE, Pseudonymiser(b"k" * 32)))
    valid = {
        "txn": [_sale(n) for n in range(3)],
        "traffic": [body("traffic", n, store_id="DE-BER-001", period_start=_ts(30)) for n in range(3)],
        "fulfillment": [body("fulfillment", n, status_ts=_ts(30), order_placed_ts=_ts(40)) for n in range(3)],
    }[source]
    outcome = ingest(source, _raws([valid[0], poison, *valid[1:]]), NOW)  # type: ignore[arg-type]
    assert (outcome.accepted, outcome.dead_lettered, outcome.dead_letters_by_reason) == (3, 1, {reason: 1})
    [letter] = store.query("deadletters")
    assert letter["reason"] and letter["sequence_number"] == 1


def test_sums_past_the_exact_integer_range_isolate_the_event_and_the_store_stays_usable(store: DocumentStore) -> None:
    enricher = Enricher(REFERENCE, Pseudonymiser(b"k" * 32))
    ingest, rollup = IngestHandler(store, enricher), RollupHandler(store)
    # Each sale is 10 million KWD = 9e14 EUR cents: ten fit under 2**53, the eleventh and twelfth would not.
    huge = [_sale(n, amount=10_000_000.0, currency="KWD") for n in range(12)]
    first = ingest("txn", _raws(huge), NOW)
    again = ingest("txn", _raws(huge), NOW)  # a redelivery reaches the same verdicts, counts nothing twice
    assert (first.accepted, first.dead_lettered, first.dead_letters_by_reason) == (10, 2, {"value_out_of_range": 2})
    assert again.replayed == 12 and again.accepted == 0
    letters = sorted(store.query("deadletters"), key=lambda d: d["sequence_number"])
    assert [d["sequence_number"] for d in letters] == [10, 11]
    assert "would pass 9,007,199,254,740,991" in letters[0]["reason"]

    # The store stays usable: a valid stream afterwards (another store) ingests fully and is exact.
    valid = [_sale(100 + n, store="DE-HAM-001", amount=round(3.5 + n, 2)) for n in range(20)]
    later = ingest("txn", _raws(valid, partition="1"), NOW)
    assert (later.accepted, later.dead_lettered) == (20, 0)
    _drain(rollup, store)
    rows = {(r["key"], r["window"]): r for r in kpi_rows(store, "store", "day", NOW)}
    expected = recompute(enricher.enrich("txn", _valid_events(valid), NOW).enriched, NOW)
    want = {(k, w): row for (s, k, g, w), row in expected.items() if s == "store" and g == "day"}
    for member, row in want.items():
        assert rows[member]["net_sales"] == row["net_sales"] and rows[member]["transactions"] == row["transactions"]
    berlin = next(r for (key, _), r in rows.items() if key == "DE-BER-001")
    assert berlin["transactions"] == 10 and berlin["net_sales"] == Decimal(9 * 10**15).scaleb(-2)
    assert MAX_STORED_INT >= 10 * 9 * 10**14


def _valid_events(bodies: list[bytes]) -> list:  # type: ignore[type-arg]
    from shared.pipeline.validation import validate_batch

    return validate_batch("txn", _raws(bodies, partition="1"), NOW).accepted


class RefusingStore(CrashingStore):
    """The real store behind a size limit, like Cosmos DB's 2 MB per document (scaled down to 4 KB).

    Fault injection around the real thing (as `CrashingStore`): documents under the
    limit are written by the real store, larger ones are refused as Cosmos DB would.
    """

    def __init__(self, inner: DocumentStore, limit: int) -> None:
        super().__init__(inner, 0.0, random.Random(0))
        self._limit = limit

    def write_many(self, container: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        for op in ops:
            if len(orjson.dumps(op.doc)) > self._limit:
                raise RejectedWrite(f"Cosmos DB answered 413: {op.doc['id']} is larger than {self._limit} bytes")
        return super().write_many(container, ops)


def test_events_a_store_refuses_are_isolated_and_the_rest_applied(store: DocumentStore) -> None:
    refusing = RefusingStore(store, limit=4096)
    ingest = IngestHandler(refusing, Enricher(REFERENCE, Pseudonymiser(b"k" * 32)))
    # One order with ever more statuses outgrows the limit; other orders in the same batch are fine.
    statuses = [
        body("fulfillment", n, order_id="BIG", status="picked", status_ts=_ts(30 - n / 10), order_placed_ts=_ts(40))
        for n in range(40)
    ]
    others = [
        body("fulfillment", 100 + n, order_id=f"O{n}", status_ts=_ts(30), order_placed_ts=_ts(40)) for n in range(5)
    ]
    bodies = statuses[:20] + others + statuses[20:]
    outcome = ingest("fulfillment", _raws(bodies), NOW)
    refused = outcome.dead_letters_by_reason.get("store_refused", 0)
    assert refused > 0 and outcome.accepted + refused == len(bodies) and outcome.dead_lettered == refused
    assert all(store.read("orders", "DE-BER-001", f"order|O{n}") for n in range(5))
    held = store.read("orders", "DE-BER-001", "order|BIG")
    assert held is not None and len(held["statuses"]) == 40 - refused
    again = ingest("fulfillment", _raws(bodies), NOW)  # a redelivery: skipped by progress, nothing changes
    assert again.replayed == len(bodies)


# -- issue 16.2: an event id counts once across the lateness horizon, whatever its window ----------


def _txn_at(n: int, minutes_ago: float, amount: float = 12.5) -> bytes:
    lines = [{"product_id": "P-1", "quantity": 1, "unit_price": amount}]
    return body("txn", n, amount=amount, posted_ts=_ts(minutes_ago), lines=lines)


def test_an_event_id_counts_once_whatever_its_window_and_a_conflict_is_a_visible_dead_letter(
    store: DocumentStore,
) -> None:
    enricher = Enricher(REFERENCE, Pseudonymiser(b"k" * 32))
    ingest, rollup = IngestHandler(store, enricher), RollupHandler(store)
    first = ingest("txn", _raws([_txn_at(1, 120), _txn_at(2, 120)]), NOW)
    reordered = orjson.dumps(dict(reversed(list(orjson.loads(_txn_at(2, 120)).items()))))
    versions = [
        _txn_at(1, 60),  # the same transaction posted an hour later: another window
        _txn_at(1, 120, amount=13.0),  # the same minute, another amount
        _txn_at(1, 5),
        _txn_at(1, 200, amount=1.0),
        _txn_at(1, 120),  # byte-identical copy: a duplicate
        reordered,  # the same content, fields in another order: a duplicate
    ]
    later = ingest("txn", _raws(versions, first=2), NOW)
    assert (first.accepted, first.duplicates) == (2, 0)
    assert (later.accepted, later.duplicates, later.dead_lettered) == (0, 2, 4)
    assert later.dead_letters_by_reason == {"conflicting_duplicate": 4}
    letters = sorted(store.query("deadletters"), key=lambda d: d["sequence_number"])
    assert [d["sequence_number"] for d in letters] == [2, 3, 4, 5]
    assert "first received in message 0:0" in letters[1]["reason"] and "differs in amount" in letters[1]["reason"]
    assert '"amount":12.5' in letters[1]["reason"]  # the first version is visible beside the copy's raw bytes
    _drain(rollup, store)
    [day] = kpi_rows(store, "store", "day", NOW)
    assert day["transactions"] == 2 and day["net_sales"] == Decimal("25.00")


def test_the_registry_is_exactly_once_through_crashes_and_redeliveries(store: DocumentStore) -> None:
    # Seven ids, each sent four or five times: byte-identical copies and copies posted at another time.
    bodies = [_txn_at(n % 7, 10 + n % 7 if n % 3 else 50 + n % 7) for n in range(30)]
    verdicts = _verdicts(bodies)
    assert verdicts["duplicates"] > 0 and verdicts["dead_lettered"] > 0
    for seed in range(4):
        crashing = CrashingStore(store, 0.25, random.Random(seed))
        ingest = IngestHandler(crashing, Enricher(REFERENCE, Pseudonymiser(b"k" * 32)))
        partition = f"p{seed}"
        raws = _raws(bodies, partition=partition)
        at, outcomes = 0, []
        rng = random.Random(seed)
        while at < len(raws):
            batch = raws[at : at + rng.randint(1, 8)]
            try:
                outcomes.append(ingest("txn", batch, NOW))
                outcomes.append(ingest("txn", batch, NOW))  # a redelivery
            except SimulatedCrash:
                continue
            at += len(batch)
        progress = store.read("audit", f"progress|txn|{partition}", f"progress|txn|{partition}")
        assert progress is not None
        counts = {k: progress[k] for k in ("accepted", "duplicates", "dead_lettered")}
        if seed == 0:
            assert counts == verdicts
        else:  # the same ids again from another partition: every one is now a copy of seed 0's
            assert counts["accepted"] == 0 and counts["duplicates"] + counts["dead_lettered"] == 30


def _verdicts(bodies: list[bytes]) -> dict[str, int]:
    owners: dict[str, bytes] = {}
    out = {"accepted": 0, "duplicates": 0, "dead_lettered": 0}
    for raw in bodies:
        event_id = orjson.loads(raw)["event_id"]
        owner = owners.setdefault(event_id, raw)
        if owner is raw:
            out["accepted"] += 1
        elif owner == raw:
            out["duplicates"] += 1
        else:
            out["dead_lettered"] += 1
    return out
