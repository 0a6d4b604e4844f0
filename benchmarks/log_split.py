"""A producer appending while the embedded host ingests: the log in the store's file vs in its own file.

The host (ingest, rollups, checkpoints) runs in its background thread; a producer appends
generated `txn` events to the local log at a fixed rate, one `append_many` every 50 ms,
from the main thread (as `pulse demo` wires it today) or from its own process (as the
freshness benchmark's open-loop producer does: the 2nd core). Side by side, round robin,
on the same events: the old layout (log tables in the store's SQLite file: an append waits for the
store's writer, SQLite's busy handler sleeping 1-100 ms at a time) and the new one
(``<db>.eventlog``, `shared/runtime/log_files.py`). It prints the appends' latency,
the rate actually sent, the drain time after the last append and the end-to-end rate.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from datetime import timedelta
from itertools import islice
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

from benchmarks._common import print_table
from shared.bootstrap import DEMO_PII_KEY, build_pipeline
from shared.generator import generate
from shared.pipeline.sealing import BodySealer
from shared.runtime.checkpoints import CheckpointStore
from shared.runtime.gc_tuning import tune_gc_for_throughput
from shared.runtime.host import HostSettings, LocalHost
from shared.runtime.local_log import LocalLog
from shared.runtime.log_files import open_store_log
from shared.stores.embedded import SqliteDocumentStore
from shared.timestamps import parse_rfc3339

__all__ = ["run"]

START = parse_rfc3339("2026-11-02T10:00:00Z")
TICK_S = 0.05
LAYOUTS = ("one file (log in the store's file)", "own file (<db>.eventlog)")
PRODUCERS = ("producer thread", "producer process")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _produce(
    log_file: Path, events: list[tuple[str, bytes]], rate: int, began: float, out: Queue[Any] | None = None
) -> tuple[float, list[float], float]:
    """Append `events` at `rate` from `began` (time.monotonic: one clock for every process on Linux).

    Returns (began, append latencies in seconds, when the last append returned); with `out`, puts it there.
    """
    log, now = LocalLog(log_file, 4), START + timedelta(hours=1)
    per_tick = max(1, int(rate * TICK_S))
    latencies: list[float] = []
    for tick, start in enumerate(range(0, len(events), per_tick)):
        if (wait := began + tick * TICK_S - time.monotonic()) > 0:
            time.sleep(wait)
        sent = time.monotonic()
        log.append_many("txn", [(key, body, now) for key, body in events[start : start + per_tick]])
        latencies.append(time.monotonic() - sent)
    log.close()
    result = (began, latencies, time.monotonic())
    if out is not None:
        out.put(result)
    return result


def _round(folder: Path, layout: str, producer: str, events: list[tuple[str, bytes]], rate: int) -> dict[str, float]:
    db = folder / "pulse.db"
    store = SqliteDocumentStore(db)
    log = LocalLog(db, 4) if layout == LAYOUTS[0] else open_store_log(store, 4)[0]
    checkpoints = CheckpointStore(db)
    pipeline = build_pipeline(store, DEMO_PII_KEY, None, sealer=BodySealer.ephemeral())
    now = START + timedelta(hours=1)
    host = LocalHost(
        log, checkpoints, store, pipeline.ingest, pipeline.rollup, clock=lambda: now, settings=HostSettings()
    )
    spawn = multiprocessing.get_context("spawn")
    try:
        if producer == PRODUCERS[1]:
            out: Queue[Any] = spawn.Queue()
            child = spawn.Process(target=_produce, args=(log.path, events, rate, time.monotonic() + 2.0, out))
            child.start()
            host.start()
            began, latencies, sent_all = out.get(timeout=900)
            child.join()
        else:
            host.start()
            began, latencies, sent_all = _produce(log.path, events, rate, time.monotonic())
        while host.stats().checkpointed < len(events):
            time.sleep(0.05)
        host.stop()
        host.run_until_quiet(timeout_s=600)  # the rollups still to do
        quiet = time.monotonic()
    finally:
        if host.running:
            host.stop()
        for closeable in (checkpoints, log, store):
            closeable.close()
    return {
        "p50": _percentile(latencies, 0.5) * 1000,
        "p95": _percentile(latencies, 0.95) * 1000,
        "max": max(latencies) * 1000,
        "sent_rate": len(events) / (sent_all - began),
        "drain": quiet - sent_all,
        "end_to_end": len(events) / (quiet - began),
    }


def run(events: int = 60_000, rate: int = 3_000, rounds: int = 2) -> None:
    """Print the side-by-side table."""
    generated = islice(generate("txn", events, 7, START, scale=250.0), events)
    stream = [(event.partition_key, event.body) for event in generated]
    tune_gc_for_throughput()
    configs = [(layout, producer) for producer in PRODUCERS for layout in LAYOUTS]
    results: dict[tuple[str, str], list[dict[str, float]]] = {config: [] for config in configs}
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(1, rounds + 1):
            for number, (layout, producer) in enumerate(configs):
                folder = Path(tmp) / f"{round_no}-{number}"
                folder.mkdir()
                print(f"Round {round_no} of {rounds}: {layout}, {producer}", flush=True)
                results[(layout, producer)].append(_round(folder, layout, producer, stream, rate))

    def cells(config: tuple[str, str], name: str, fmt: str) -> str:
        return " / ".join(format(r[name], fmt) for r in results[config])

    print_table(
        f"Producer at {rate:,} events/s while the host ingests, {len(stream):,} txn events"
        f" (every round, round robin)",
        ("layout, producer", "append p50 ms", "p95 ms", "max ms", "sent events/s", "drain s", "end-to-end ev/s"),
        [
            (f"{c[0]}, {c[1]}", cells(c, "p50", ".1f"), cells(c, "p95", ".1f"), cells(c, "max", ".0f"),
             cells(c, "sent_rate", ",.0f"), cells(c, "drain", ".1f"), cells(c, "end_to_end", ",.0f"))
            for c in configs
        ],
    )  # fmt: skip
