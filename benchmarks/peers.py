"""`pulse ingest` beside its peers on the same events: a Bytewax dataflow and one DuckDB query.

One generated `txn` stream (x250 density, 1 % producer re-sends) written to a JSON Lines
file; per round, round robin: DuckDB over the file (the batch floor), a Bytewax dataflow
over the bodies in memory (the streaming floor), and `pulse ingest` as a child process
on a fresh embedded store: log appends, ingest, exactly-once, flow, audit, progress and
the whole rollup cascade, everything it does. Then every store-minute of both peers is
compared with our store-minute rollups (`benchmarks/_peer_flows.py` says under which
rules); any difference is listed and the command exits 1.

Beside each rate, the CPU time it took (all threads and child processes) and how many
cores that kept busy on average: `pulse ingest` runs its host in a process of its own
and so uses both cores, DuckDB runs threads, the Bytewax flow one worker.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from itertools import islice
from pathlib import Path
from typing import TypeVar

from benchmarks._common import print_table, timed
from benchmarks._peer_flows import Results, StoreMinute, bytewax_flow, duckdb_query, fx_table
from shared.generator import generate
from shared.reference.loader import demo_reference_dir
from shared.rollups.minutes import query_minutes
from shared.rollups.segments import total
from shared.stores.embedded import SqliteDocumentStore
from shared.timestamps import parse_rfc3339

__all__ = ["compare", "ours_from_store", "run"]

T = TypeVar("T")

START = parse_rfc3339("2026-11-02T10:00:00Z")
SCALE = 250.0
DUPLICATES = 0.01
TARGET = 2.0
"""Issue 14: the whole `pulse ingest` path within 2x of the Bytewax peer."""


def _stream(count: int, path: Path) -> tuple[list[bytes], int]:
    """Write the stream to `path`; (bodies, newest event ms)."""
    events = list(islice(generate("txn", count, 42, START, {"duplicate": DUPLICATES}, scale=SCALE), count))
    bodies = [event.body for event in events]
    path.write_bytes(b"".join(body + b"\n" for body in bodies))
    return bodies, max(event.event_ms for event in events)


def ours_from_store(db: Path) -> Results:
    """Every store-minute rollup of the store at `db`, its segments summed."""
    store = SqliteDocumentStore(db)
    try:
        docs = list(query_minutes(store, "store", None, None))
    finally:
        store.close()
    results: Results = {}
    for doc in docs:
        c = total(doc["segments"])
        counters = StoreMinute(
            c.get("gross_cents", 0), c.get("refund_cents", 0), c.get("sales", 0),
            c.get("refunds", 0), c.get("voids", 0), c.get("units", 0),
        )  # fmt: skip
        if counters != StoreMinute():  # a minute with traffic or orders only has no sales to compare
            results[(doc["key"], doc["window"][:16])] = counters
    return results


def compare(name: str, ours: Results, theirs: Results) -> list[str]:
    """Every store-minute where `theirs` differs from `ours`, one line each (empty: identical)."""
    out = []
    for key in sorted(ours.keys() | theirs.keys()):
        a, b = ours.get(key), theirs.get(key)
        if a != b:
            out.append(f"{name} {key[0]} {key[1]}: ours {a}, {name} {b}")
    return out


def _cpu_s(fn: Callable[[], T]) -> tuple[T, float]:
    """Run `fn`; its result and the CPU seconds this process and its waited-for children used meanwhile."""

    def used() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    before = used()
    result = fn()
    return result, used() - before


def _ours(jsonl: Path, db: Path, now_ms: int) -> tuple[float, dict[str, object]]:
    """`pulse ingest` in a child process: (wall seconds including start-up, its JSON summary)."""
    now = (START + timedelta(milliseconds=now_ms - int(START.timestamp() * 1000) + 60_000)).isoformat()
    cmd = [sys.executable, "-m", "shared.cli.main", "ingest", "--source", "txn", "--db", str(db), "--now", now]
    started = time.perf_counter()
    env = {**os.environ, "PII_HMAC_KEY": "benchmark-peers-" + "k" * 32}
    done = subprocess.run([*cmd, str(jsonl)], capture_output=True, check=False, env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"pulse ingest failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    summary: dict[str, object] = json.loads(done.stdout)
    return wall, summary


def run(events: int = 300_000, rounds: int = 2, alter: Callable[[Results], None] | None = None) -> int:
    """Print the table and the equality check; 0 when every store-minute is identical, else 1.

    `alter` (tests only) changes a peer's results before the check, to prove that it can fail.
    """
    fx_csv = demo_reference_dir() / "fx_rates.csv"
    with tempfile.TemporaryDirectory() as tmp:
        jsonl = Path(tmp) / "txn.jsonl"
        print(f"Generating {events:,} txn events (x{SCALE:g} density, {DUPLICATES:.0%} re-sent) ...", flush=True)
        bodies, newest_ms = _stream(events, jsonl)
        distinct = len({json.loads(body)["event_id"] for body in bodies})
        rates: dict[str, list[float]] = {"duckdb": [], "bytewax": [], "ours": [], "ours_pipeline": []}
        cpu: dict[str, list[float]] = {"duckdb": [], "bytewax": [], "ours": []}
        peers: dict[str, Results] = {}
        ours: Results = {}
        summary: dict[str, object] = {}
        for round_no in range(1, rounds + 1):
            print(f"Round {round_no} of {rounds}", file=sys.stderr)
            (peers["duckdb"], seconds), cpu_s = _cpu_s(lambda: timed(lambda: duckdb_query(jsonl, fx_csv)))
            rates["duckdb"].append(len(bodies) / seconds)
            cpu["duckdb"].append(cpu_s)
            (peers["bytewax"], seconds), cpu_s = _cpu_s(lambda: timed(lambda: bytewax_flow(bodies, fx_table(fx_csv))))
            rates["bytewax"].append(len(bodies) / seconds)
            cpu["bytewax"].append(cpu_s)
            db = Path(tmp) / f"round-{round_no}.db"
            (wall, summary), cpu_s = _cpu_s(lambda: _ours(jsonl, db, newest_ms))  # noqa: B023 (called at once)
            rates["ours"].append(len(bodies) / wall)
            cpu["ours"].append(cpu_s)
            rates["ours_pipeline"].append(len(bodies) / float(summary["elapsed_s"]))  # type: ignore[arg-type]
            ours = ours_from_store(db)
    if alter is not None:
        alter(peers["bytewax"])
    best = {name: max(r) for name, r in rates.items()}
    best_round = {name: r.index(max(r)) for name, r in rates.items()}

    def cpu_cells(k: str) -> tuple[str, str]:
        """CPU seconds per 100,000 events and the cores busy on average, in the best round."""
        if k not in cpu:  # `elapsed_s` of the runs above: their CPU time is the whole process's
            return "-", "-"
        used, wall = cpu[k][best_round[k]], len(bodies) / best[k]
        return f"{used * 100_000 / len(bodies):.1f}", f"{used / wall:.2f}"

    rows = [
        ("DuckDB: one SQL GROUP BY over the file (batch floor)", "duckdb"),
        ("Bytewax: event-time tumbling windows, in memory (streaming floor)", "bytewax"),
        ("`pulse ingest`, whole process (start-up, reference data included)", "ours"),
        ("`pulse ingest`, its own elapsed_s (append + ingest + rollups until quiet)", "ours_pipeline"),
    ]
    print_table(
        f"Peers, {len(bodies):,} txn events ({distinct:,} distinct ids, {len(ours):,} store-minutes with sales),"
        f" best of {rounds} rounds, round robin",
        ("system", "events/s", "every round", "Bytewax / this", "DuckDB / this", "CPU s per 100k events", "cores busy"),
        [
            (label, f"{best[k]:,.0f}", " / ".join(f"{x:,.0f}" for x in rates[k]),
             f"{best['bytewax'] / best[k]:.2f}x", f"{best['duckdb'] / best[k]:.2f}x", *cpu_cells(k))
            for label, k in rows
        ],
    )  # fmt: skip
    ratio = best["bytewax"] / best["ours"]
    verdict = "met" if ratio <= TARGET else "missed"
    print(
        f"\npulse ingest / Bytewax: {ratio:.2f}x slower (target <= {TARGET:g}x: {verdict});"
        f" pulse ingest / DuckDB: {best['duckdb'] / best['ours']:.2f}x slower. In CPU time (all cores) pulse ingest"
        f" used {cpu['ours'][best_round['ours']] / cpu['bytewax'][best_round['bytewax']]:.2f}x Bytewax's."
        f" Ours accepted {summary['accepted']:,}"
        f" and counted {summary['duplicates']:,} duplicates; writes/event {summary['writes_per_event']}."
    )
    differences = compare("duckdb", ours, peers["duckdb"]) + compare("bytewax", ours, peers["bytewax"])
    if summary["accepted"] != distinct:
        differences.append(f"ours accepted {summary['accepted']:,} events, the stream holds {distinct:,} distinct ids")
    if differences:
        print(f"\nEquality check FAILED: {len(differences):,} differences")
        for line in differences[:50]:
            print(f"  {line}")
        return 1
    print(f"\nEquality check: all {len(ours):,} store-minutes identical in DuckDB, Bytewax and ours (6 counters each).")
    return 0
