"""The whole ingest path on one core: generated `txn` events, 1,000-event batches, embedded store.

Side by side in one run: orjson.loads alone on the same bodies (the parsing floor), a
naive per-event pipeline (json.loads + model_validate + one upsert per event), and
ours (batch validation, enrichment, pre-aggregation, exactly-once apply, flow, audit,
progress). Then document writes per event at batch sizes 100 and 1,000, and the
change-feed rollups over what was ingested.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zlib
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import orjson

from benchmarks._common import Progress, freeze_inputs, print_table, timed
from shared.bootstrap import DEMO_PII_KEY, build_pipeline
from shared.contracts import Transaction
from shared.generator import generate
from shared.pipeline.raw import RawEvent
from shared.pipeline.sealing import BodySealer
from shared.runtime.gc_tuning import tune_gc_for_throughput
from shared.stores.embedded import SqliteDocumentStore
from shared.timestamps import parse_rfc3339

__all__ = ["run"]

START = parse_rfc3339("2026-11-02T10:00:00Z")
PARTITIONS = 8
SEALER = BodySealer.ephemeral()
"""Seals the dead letters of every benchmark run in this process (the replay benchmark opens them again)."""
ROUNDS = 3
"""Each path runs this many times, round robin; the table shows the best and every round."""
SCALE = 250.0
"""Shopper volume x250 of a realistic 60-store chain: ~300 txn/s, the density of a busy chain at peak.

Writes per event depend on density, not only on batch size: a batch writes about one
document per store-minute it touches, plus a flow, an audit and a progress document.
"""


def _events(count: int) -> list[tuple[str, bytes, int]]:
    progress = Progress("generate txn", count)
    out = []
    for i, event in enumerate(islice(generate("txn", count, seed=42, start=START, scale=SCALE), count), 1):
        out.append((str(zlib.crc32(event.partition_key.encode()) % PARTITIONS), event.body, event.event_ms))
        if i % 50_000 == 0:
            progress.update(i)
    progress.update(len(out))
    return out


def _ingest(
    events: list[tuple[str, bytes, int]], batch_size: int, folder: Path, label: str, reference: Path | None = None
) -> tuple[int, int, float]:
    """Run the real ingest handler into ``folder/label.db``; return (accepted, documents written, seconds)."""
    store = SqliteDocumentStore(folder / f"{label}.db")
    pipeline = build_pipeline(store, DEMO_PII_KEY, reference, sealer=SEALER)
    buffers: dict[str, list[RawEvent]] = {}
    sequences: dict[str, int] = {}
    progress = Progress(label, len(events))
    accepted = written = done = 0

    def handle(batch: list[RawEvent]) -> None:
        nonlocal accepted, written, done
        enqueued = batch[-1].enqueued_time
        assert enqueued is not None
        now = enqueued + timedelta(seconds=1)
        outcome = pipeline.ingest("txn", batch, now)
        accepted += outcome.accepted
        written += outcome.documents_written
        done += len(batch)
        progress.update(done)

    # Cut the stream into per-partition batches first: the log's work, not the pipeline's.
    batches: list[list[RawEvent]] = []
    for partition, body, event_ms in events:
        seq = sequences.get(partition, -1) + 1
        sequences[partition] = seq
        enqueued = datetime.fromtimestamp(event_ms / 1000, UTC)
        buffers.setdefault(partition, []).append(RawEvent(body, partition, seq, str(seq), enqueued))
        if len(buffers[partition]) >= batch_size:
            batches.append(buffers.pop(partition))
    batches.extend(buffers.values())
    freeze_inputs()

    def work() -> None:
        for batch in batches:
            handle(batch)

    _, seconds = timed(work)
    store.close()
    return accepted, written, seconds


def _naive(events: list[tuple[str, bytes, int]], folder: Path) -> float:
    store = SqliteDocumentStore(folder / "naive.db")

    def work() -> None:
        for _, body, _ in events:
            event = Transaction.model_validate(json.loads(body), strict=False)
            store.upsert("views", {"id": event.event_id, "pk": event.merchant_id, "amount": str(event.amount)})

    _, seconds = timed(work)
    store.close()
    return seconds


def _parse_all(bodies: list[bytes]) -> None:
    for body in bodies:
        orjson.loads(body)


def run(events: int = 1_000_000, rounds: int = ROUNDS) -> None:
    """Print the ingest table and the writes-per-event table."""
    print(f"Generating {events:,} txn events ...")
    stream = _events(events)
    bodies = [body for _, body, _ in stream]
    naive_n = min(len(stream), 100_000)
    tune_gc_for_throughput()  # as `pulse ingest` and the Functions worker do; it also freezes the input
    rates: dict[str, list[float]] = {"floor": [], "naive": [], "ours": []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(1, rounds + 1):
            # Round robin, so that a drift in the machine's speed touches every path alike.
            print(f"Round {round_no} of {rounds}")
            folder = Path(tmp) / f"round-{round_no}"
            folder.mkdir()
            _, parse_s = timed(lambda: _parse_all(bodies))
            rates["floor"].append(len(bodies) / parse_s)
            rates["naive"].append(naive_n / _naive(stream[:naive_n], folder))
            accepted, written, ours_s = _ingest(stream, 1000, folder, "ingest, 1,000-event batches")
            rates["ours"].append(len(bodies) / ours_s)
            shutil.rmtree(folder)
        floor = max(rates["floor"])
        rows = [
            ("orjson.loads alone (floor)", rates["floor"], "-"),
            ("naive: json.loads + model_validate + 1 upsert per event", rates["naive"], "1.000"),
            ("ours: whole ingest path, 1,000-event batches", rates["ours"], f"{written / len(bodies):.4f}"),
        ]
        span_s = (stream[-1][2] - stream[0][2]) / 1000
        print_table(
            f"Ingest path, {len(bodies):,} txn events ({accepted:,} accepted) spanning {span_s / 60:,.0f} min of event"
            f" time, {PARTITIONS} partitions, one core, best of {rounds} rounds",
            ("path", "events/s", "vs orjson.loads", "every round", "writes/event"),
            [
                (name, f"{max(r):,.0f}", f"{max(r) / floor:.2f}x", " / ".join(f"{x:,.0f}" for x in r), w)
                for name, r, w in rows
            ],
        )
        ours, naive = sorted(rates["ours"]), max(rates["naive"])
        print(
            f"\nOurs vs naive: {max(ours) / naive:.1f}x; our slowest round {ours[0]:,.0f} events/s,"
            f" median {ours[len(ours) // 2]:,.0f}."
        )
        sample = stream[: min(len(stream), 200_000)]
        table = []
        for size in (100, 1000):
            _, docs, seconds = _ingest(sample, size, Path(tmp), f"batch size {size}")
            table.append((f"{size:,}", f"{docs / len(sample):.4f}", f"{len(sample) / seconds:,.0f}"))
        print_table(
            f"Document writes per event by batch size ({len(sample):,} txn events)",
            ("batch size", "writes/event", "events/s"),
            table,
        )
