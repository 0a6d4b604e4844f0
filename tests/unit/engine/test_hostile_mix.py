"""Issue 16 proof: hostile producers mixed into valid batches never stop the pipeline.

Random batches of three sources mix valid events with values past every bound,
amounts that are not whole cents, timestamps without seconds, bodies invalid alone
but valid when joined, and reused event ids (same and other content, other windows).
Invariants: no batch fails; received = accepted + dead-lettered + duplicates; every
body invalid alone is a dead letter with a reason; each event id counts once; the
KPIs equal a recomputation over the first version of each valid id.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.contracts.registry import event_adapter
from shared.handlers.ingest import IngestHandler
from shared.handlers.rollup import RollupHandler
from shared.kpis.recompute import recompute
from shared.pipeline.enrichment import Enricher
from shared.pipeline.pii import Pseudonymiser
from shared.pipeline.raw import RawEvent
from shared.pipeline.validation import validate_batch
from shared.reference import Dimension, FxRates, ReferenceData
from shared.rollups.query import kpi_rows
from shared.stores.embedded import SqliteDocumentStore
from shared.topology import Source
from tests.support.samples import body

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REFERENCE = ReferenceData(
    stores=Dimension([], key=lambda s: s.store_id),
    products=Dimension([], key=lambda p: p.product_id),
    fx=FxRates({"GBP": [(date(2026, 1, 1), Decimal("1.17"))]}),
)
SOURCES: tuple[Source, ...] = ("txn", "traffic", "fulfillment")


def _ts(minutes_ago: int) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")


def _valid(source: Source, n: int, minutes_ago: int, size: int) -> bytes:
    if source == "txn":
        lines = [{"product_id": "P-1", "quantity": size, "unit_price": 2.5}]
        return body("txn", n, posted_ts=_ts(minutes_ago), amount=2.5 * size, lines=lines)
    if source == "traffic":
        return body("traffic", n, period_start=_ts(minutes_ago), visitors=size)
    return body("fulfillment", n, status_ts=_ts(minutes_ago), order_placed_ts=_ts(minutes_ago + 60))


def _hostile(source: Source, n: int, kind: str) -> list[bytes]:
    whole = _valid(source, n, 10, 3)
    big = {"txn": b'"quantity":3', "traffic": b'"visitors":3', "fulfillment": b'"items":2'}[source]
    if kind == "past_bound":
        return [whole.replace(big, big.split(b":")[0] + b":" + str(2**64).encode())]
    if kind == "at_bound":  # exactly at the bound: valid
        bound = {"txn": b"10000", "traffic": b"1000000", "fulfillment": b"10000"}[source]
        edited = whole.replace(big, big.split(b":")[0] + b":" + bound)
        return [edited.replace(b'"amount":7.5', b'"amount":25000.0')]
    if kind == "no_seconds":
        ts = _ts(10)  # e.g. 2026-11-26T11:50:00Z -> 2026-11-26T11:50Z
        return [whole.replace(ts.encode(), ts[:-4].encode() + b"Z")]
    if kind == "joined":
        cut = whole.index(b'"test-1"') + 1
        return [whole[:cut] + b"}", b"{" + whole[cut:], whole + b"," + _valid(source, n + 500, 11, 1)]
    return [whole.replace(b'"source_system":"test-1"', b'"source_system":""')]


@st.composite
def batches(draw: st.DrawFn) -> dict[Source, list[bytes]]:
    out: dict[Source, list[bytes]] = {s: [] for s in SOURCES}
    valid: dict[Source, list[bytes]] = {s: [] for s in SOURCES}
    for n in range(draw(st.integers(1, 40))):
        source = draw(st.sampled_from(SOURCES))
        kind = draw(st.sampled_from(["valid", "valid", "reuse", "past_bound", "at_bound", "no_seconds", "joined"]))
        if kind == "valid":
            valid[source].append(_valid(source, n, draw(st.integers(0, 600)), draw(st.integers(1, 5))))
            out[source].append(valid[source][-1])
        elif kind == "reuse" and valid[source]:  # an earlier id again: same bytes, or another window/amount
            earlier = draw(st.sampled_from(valid[source]))
            if draw(st.booleans()):
                out[source].append(earlier)
            else:
                number = int(orjson.loads(earlier)["event_id"][-6:])
                out[source].append(_valid(source, number, draw(st.integers(0, 600)), 2))
        elif kind != "reuse":
            out[source] += _hostile(source, 1000 + n, kind)
    return out


def _valid_alone(source: Source, raw: bytes) -> bool:
    try:
        event_adapter(source).validate_json(raw)
    except ValidationError:
        return False
    return True


@given(batches(), st.integers(1, 15))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_hostile_producers_never_stop_the_pipeline(stream: dict[Source, list[bytes]], batch_size: int) -> None:
    enricher = Enricher(REFERENCE, Pseudonymiser(b"k" * 32))
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteDocumentStore(Path(folder) / "pulse.db")
        ingest, rollup = IngestHandler(store, enricher), RollupHandler(store)
        first_versions = []
        for source, bodies in stream.items():
            raws = [RawEvent(b, "0", seq, str(seq), NOW) for seq, b in enumerate(bodies)]
            totals = {"received": 0, "accepted": 0, "dead_lettered": 0, "duplicates": 0}
            for start in range(0, len(raws), batch_size):
                outcome = ingest(source, raws[start : start + batch_size], NOW)  # never raises for content
                for name in totals:
                    totals[name] += getattr(outcome, name)
            assert totals["received"] == len(bodies)
            assert totals["received"] == totals["accepted"] + totals["dead_lettered"] + totals["duplicates"]
            owners: dict[str, bytes] = {}
            for raw in bodies:
                if _valid_alone(source, raw):
                    owners.setdefault(orjson.loads(raw)["event_id"], raw)
            invalid = sum(1 for raw in bodies if not _valid_alone(source, raw))
            copies = len(bodies) - invalid - len(owners)
            assert totals["accepted"] == len(owners)  # each valid event id counts once
            assert totals["dead_lettered"] + totals["duplicates"] == invalid + copies
            letters = store.query("deadletters", where={"source": source})
            assert all(letter["reason"] for letter in letters) and len(letters) == totals["dead_lettered"]
            owned = [RawEvent(raw, "0", i, str(i), NOW) for i, raw in enumerate(owners.values())]
            first_versions += enricher.enrich(source, validate_batch(source, owned, NOW).accepted, NOW).enriched
        token = None
        for container in ("views", "orders"):
            token = None
            while (page := store.change_feed(container, token)).docs:
                rollup(container, page.docs, NOW)
                token = page.continuation
        want = {(k, w): r for (s, k, g, w), r in recompute(first_versions, NOW).items() if s == "chain" and g == "day"}
        got = {(r["key"], r["window"]): r for r in kpi_rows(store, "chain", "day", NOW)}
        for member, row in want.items():
            for kpi in ("net_sales", "transactions", "units", "visitors", "orders_placed"):
                assert got[member][kpi] == row[kpi], (member, kpi)
        store.close()
