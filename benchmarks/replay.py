"""Dead-letter replay next to ingest, on the same events: the repair after an incident.

100,000 generated `txn` events whose currency (CHF) the reference set lacks are ingested
(1,000-event batches, embedded store): every one becomes an ``unknown_currency`` dead
letter. Once the CHF rates are added, `replay_dead_letters` replays them all (list,
batch path, letter updates). Side by side in each round: ingest of the same events
with the rates present. Target: replay >= 0.5x ingest.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks._common import Progress, print_table, timed
from benchmarks.ingest import SEALER, _events, _ingest
from shared.bootstrap import DEMO_PII_KEY, build_pipeline
from shared.handlers.dead_letters import ReplayResult, list_dead_letters, replay_dead_letters
from shared.reference import demo_reference_dir
from shared.runtime.gc_tuning import tune_gc_for_throughput
from shared.stores.embedded import SqliteDocumentStore

__all__ = ["run"]

ROUNDS = 3
MISSING = "CHF"


def _with_chf_rates(folder: Path) -> Path:
    """The demo reference set plus CHF rates (copied from the GBP rows)."""
    shutil.copytree(demo_reference_dir(), folder)
    rates = folder / "fx_rates.csv"
    lines = rates.read_text().splitlines(keepends=True)
    rates.write_text(
        "".join(lines) + "".join(line.replace(",GBP,", f",{MISSING},") for line in lines if ",GBP," in line)
    )
    return folder


def _in_chf(events: list[tuple[str, bytes, int]]) -> list[tuple[str, bytes, int]]:
    out = []
    for partition, body, event_ms in events:
        for currency in (b"EUR", b"GBP", b"SEK", b"PLN"):
            body = body.replace(b'"currency":"' + currency + b'"', b'"currency":"' + MISSING.encode() + b'"')
        out.append((partition, body, event_ms))
    return out


def _replay(db: Path, reference: Path, expected: int) -> tuple[ReplayResult, float]:
    """List and replay every open letter of `db` with `reference`; (result, seconds)."""
    store = SqliteDocumentStore(db)
    pipeline = build_pipeline(store, DEMO_PII_KEY, reference, sealer=SEALER)
    progress = Progress("replay", expected)
    now = datetime.now(UTC) + timedelta(days=1)

    def work() -> ReplayResult:
        letters = list_dead_letters(store, reason="unknown_currency", newest_first=False)
        tune_gc_for_throughput()  # as `pulse dlq replay` does once the letters are loaded
        return replay_dead_letters(
            store, pipeline.ingest, letters, now, on_progress=lambda r: progress.update(r.replayed)
        )

    result, seconds = timed(work)
    store.close()
    return result, seconds


def run(events: int = 100_000, rounds: int = ROUNDS) -> None:
    """Print the replay-vs-ingest table, every round."""
    print(f"Generating {events:,} txn events in {MISSING} ...")
    stream = _in_chf(_events(events))
    tune_gc_for_throughput()
    rates: dict[str, list[float]] = {"ingest": [], "replay": []}
    resolved = 0
    with tempfile.TemporaryDirectory() as tmp:
        reference = _with_chf_rates(Path(tmp) / "reference")
        for round_no in range(1, rounds + 1):
            print(f"Round {round_no} of {rounds}")
            folder = Path(tmp) / f"round-{round_no}"
            folder.mkdir()
            accepted, _, ingest_s = _ingest(stream, 1000, folder, "ingest with the CHF rates", reference)
            rates["ingest"].append(len(stream) / ingest_s)
            accepted_without, _, _ = _ingest(stream, 1000, folder, "incident: dead-letter every event")
            assert accepted_without == 0, "every event should have become a dead letter"
            result, replay_s = _replay(folder / "incident: dead-letter every event.db", reference, len(stream))
            assert result.resolved == accepted == len(stream), (result.summary(), accepted)
            resolved = result.resolved
            rates["replay"].append(result.replayed / replay_s)
            shutil.rmtree(folder)
    ingest, replay = max(rates["ingest"]), max(rates["replay"])
    print_table(
        f"Dead-letter replay vs ingest, {len(stream):,} txn events ({resolved:,} letters resolved), one core,"
        f" best of {rounds} rounds",
        ("path", "events/s", "vs ingest", "every round"),
        [
            (name, f"{max(r):,.0f}", f"{max(r) / ingest:.2f}x", " / ".join(f"{x:,.0f}" for x in r))
            for name, r in (
                ("ingest, 1,000-event batches", rates["ingest"]),
                ("replay of the dead letters", rates["replay"]),
            )
        ],
    )
    ratios = [r / i for r, i in zip(rates["replay"], rates["ingest"], strict=True)]
    print(
        f"\nReplay / ingest per round: {' / '.join(f'{x:.2f}x' for x in ratios)} (target >= 0.50x);"
        f" best replay {replay:,.0f} events/s, best ingest {ingest:,.0f} events/s."
    )
