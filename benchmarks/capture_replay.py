"""Backfill from the raw zone: replay of Capture (Avro) blobs from Azurite into the embedded store, next to the
plain ingest path on the same events, round robin on one core (target: the replay costs at most 1.3x).

Both paths run the real ingest handler with 1,000-message batches into a fresh store;
the replay adds listing, downloading and decoding the Avro blobs (Azurite over
loopback HTTP) and the gap check per batch. A folder capture (the embedded raw
zone) is measured too.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from benchmarks._common import Progress, freeze_inputs, print_table, timed
from benchmarks.ingest import PARTITIONS, _events
from shared.bootstrap import DEMO_PII_KEY, build_pipeline
from shared.capture.avro_format import write_records
from shared.capture.layout import blob_name
from shared.capture.port import CaptureStore, FolderCaptureStore
from shared.capture.reader import CaptureRange, captured_messages
from shared.engine.progress import read_progress
from shared.handlers.capture_replay import replay_messages
from shared.pipeline.raw import RawEvent
from shared.sources.capture_blob import open_capture_store
from shared.stores.embedded import SqliteDocumentStore

__all__ = ["run"]

CODEC = "null"
BLOB_MESSAGES = 20_000
"""Messages per capture blob (Capture's default 5-minute window at ~70 events/s per partition)."""


def _by_partition(count: int) -> dict[str, list[RawEvent]]:
    out: dict[str, list[RawEvent]] = {}
    for partition, body, event_ms in _events(count):
        queue = out.setdefault(partition, [])
        enqueued = datetime.fromtimestamp(event_ms / 1000 + 1, UTC)
        queue.append(RawEvent(body, partition, len(queue), str(len(queue)), enqueued))
    return out


def _write_capture(store: CaptureStore, messages: dict[str, list[RawEvent]]) -> int:
    blobs = 0
    for partition, queue in messages.items():
        for i in range(0, len(queue), BLOB_MESSAGES):
            chunk = queue[i : i + BLOB_MESSAGES]
            out = io.BytesIO()
            write_records(out, [], chunk, CODEC)
            assert chunk[0].enqueued_time is not None
            store.write(blob_name("bench", "pulse-txn", partition, chunk[0].enqueued_time), out.getvalue())
            blobs += 1
    return blobs


def _ingest(messages: dict[str, list[RawEvent]], path: Path) -> float:
    store = SqliteDocumentStore(path)
    pipeline = build_pipeline(store, DEMO_PII_KEY)
    batches = [queue[i : i + 1000] for queue in messages.values() for i in range(0, len(queue), 1000)]
    total = sum(map(len, batches))
    progress = Progress("ingest (plain)", total)

    def work() -> None:
        done = 0
        for batch in batches:
            assert batch[-1].enqueued_time is not None
            pipeline.ingest("txn", batch, batch[-1].enqueued_time)
            done += len(batch)
            progress.update(done)

    _, seconds = timed(work)
    store.close()
    return seconds


def _replay(capture: CaptureStore, total: int, path: Path, label: str) -> float:
    store = SqliteDocumentStore(path)
    pipeline = build_pipeline(store, DEMO_PII_KEY)
    progress = Progress(label, total)

    def applied_through(partition: str) -> int | None:
        doc = read_progress(store, "txn", partition)
        return None if doc is None else int(doc["last_seq"])

    def work() -> int:
        messages = captured_messages(capture, CaptureRange("pulse-txn", "bench"))
        counts = replay_messages(
            "txn",
            messages,
            pipeline.ingest,
            fallback_now=lambda: datetime.now(UTC),
            applied_through=applied_through,
            on_batch=lambda c: progress.update(c.received),
        )
        return counts.received

    received, seconds = timed(work)
    assert received == total, (received, total)
    store.close()
    return seconds


def run(events: int = 200_000, rounds: int = 3) -> None:
    """Print the replay table (Azurite and folder capture against plain ingest)."""
    from tests.fixtures.emulators import run_azurite  # dev tooling: the fixture that starts npm Azurite

    print(f"Generating {events:,} txn events, {PARTITIONS} partitions ...")
    messages = _by_partition(events)
    total = sum(map(len, messages.values()))
    with tempfile.TemporaryDirectory() as tmp, run_azurite(Path(tmp) / "azurite") as azurite:
        folder = FolderCaptureStore(Path(tmp) / "capture")
        url = f"http://127.0.0.1:{azurite.blob_port}/devstoreaccount1/bench"
        blob_store = open_capture_store(url, create=True)
        blobs = _write_capture(blob_store, messages)
        _write_capture(folder, messages)
        freeze_inputs()
        rates: dict[str, list[float]] = {"ingest": [], "azurite": [], "folder": []}
        for round_no in range(1, rounds + 1):
            print(f"Round {round_no} of {rounds}")
            work = Path(tmp) / f"round-{round_no}"
            work.mkdir()
            rates["ingest"].append(total / _ingest(messages, work / "ingest.db"))
            rates["azurite"].append(total / _replay(blob_store, total, work / "azurite.db", "replay from Azurite"))
            rates["folder"].append(total / _replay(folder, total, work / "folder.db", "replay from a folder"))
            shutil.rmtree(work)
    best = max(rates["ingest"])
    rows = [
        ("plain ingest (same events, in memory)", rates["ingest"]),
        (f"replay: {blobs} Capture blobs from Azurite", rates["azurite"]),
        ("replay: the same blobs from a folder (embedded capture)", rates["folder"]),
    ]
    print_table(
        f"Replay from the raw zone, {total:,} txn events, 1,000-message batches, one core, best of {rounds} rounds",
        ("path", "events/s", "cost vs ingest (time)", "every round"),
        [(n, f"{max(r):,.0f}", f"{best / max(r):.2f}x", " / ".join(f"{x:,.0f}" for x in r)) for n, r in rows],
    )
    per_round = [i / a for i, a in zip(rates["ingest"], rates["azurite"], strict=True)]
    print(
        f"\nReplay from Azurite costs {min(per_round):.2f}x-{max(per_round):.2f}x the plain ingest per round"
        " (target <= 1.3x)."
    )
