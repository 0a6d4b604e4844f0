"""Writes and estimated RU per event by kind, at the generator's default density and at x250, side by side.

Each measurement runs `benchmarks/ingest_cost.py` in its own process (a fresh
interpreter and store), round robin between this checkout and, when given, a
baseline checkout (``--baseline <dir>``, e.g. ``git worktree add /tmp/base main``), so
that the machine's drift touches both alike. Printed: primary, registry, bookkeeping
and rollup writes per event, primary + rollup (the issue-14 target: <= 0.1 at x250,
<= 1.0 at the default density), RU per event estimated from the measured document
sizes, and ingest and rollup speed with their ratio to the baseline. The live-tick rows run
the stream as a host does (`LIVE_TICKS`): the writes per event a deployment meets at that
density, where the batch rows show the floor of large batches and pages.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks._common import print_table

__all__ = ["run"]

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("primary", "registry", "bookkeeping", "rollup")
SCOPES, GRAINS = ("store", "region", "channel", "chain"), ("minute", "hour", "day")
LEVELS = tuple(f"{scope} {grain}" for scope in SCOPES for grain in GRAINS)
"""Rollup document levels, as `ingest_cost` counts them; the open-order backlog is a column of its own."""
SCALES = ((1.0, "default (x1)"), (250.0, "peak (x250)"))
LIVE_BATCHES = (150,)
"""Live batch size at x250: ~150 with the 250 ms linger at 5,000 events/s over 8 partitions (5,000 / 8 x
0.25 s; a partition reaching 200 goes at once), rollups still drained in 1,000-change pages."""
LIVE_TICKS = (
    (1.0, 0.25, "embedded linger"),
    (1.0, 5.0, "Azure trigger defaults"),
    (250.0, 0.25, "embedded linger"),
    (250.0, 5.0, "Azure trigger defaults"),
)
"""Live as a host runs it: every tick of event time, each partition's batch of that tick, then the rollups
drain what changed. 0.25 s is the local consumer's linger and the host's idle cap; 5 s the Event Hubs
trigger's ``maxWaitTime`` and the Cosmos DB trigger's default ``feedPollDelay`` (the deployed defaults)."""
LIVE_TICK_EVENTS = 5_000
"""Events per live-tick run (at x1 a run handles one batch per event: ~10 ms each)."""


def _measure(code: Path, events: int, scale: float, batch: int, tick: float = 0.0) -> dict[str, Any]:
    script = ROOT / "benchmarks" / "ingest_cost.py"
    args = [sys.executable, str(script), "--code", str(code), "--events", str(events), "--scale", str(scale)]
    args += ["--batch", str(batch), "--tick", str(tick)]
    done = subprocess.run(args, capture_output=True, text=True, check=True, timeout=3600)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


CHAIN_STORES = 1_000
"""Stores of the big chain whose rollup pages are sized (`ingest_cost.measure_chain`)."""


def _measure_chain(code: Path, stores: int) -> dict[str, Any]:
    script = ROOT / "benchmarks" / "ingest_cost.py"
    args = [sys.executable, str(script), "--code", str(code), "--chain-stores", str(stores)]
    done = subprocess.run(args, capture_output=True, text=True, check=True, timeout=3600)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _chain_rows(name: str, result: dict[str, Any]) -> list[tuple[object, ...]]:
    """Per level: writes per page, mean KB per write, estimated RU per page; then the page's total."""
    pages: int = result["pages"]
    counts, sizes, ru = result["rollup_levels"], result["rollup_level_bytes"], result["rollup_level_ru"]
    rows: list[tuple[object, ...]] = []
    for level in LEVELS:
        if counts.get(level):
            per_page = counts[level] / pages
            kb = sizes[level] / counts[level] / 1024
            rows.append((name, level, f"{per_page:,.1f}", f"{kb:.1f}", f"{ru[level] / pages:,.0f}"))
    total_kb = sum(sizes.values()) / pages / 1024
    total = (name, "all levels", f"{sum(counts.values()) / pages:,.1f}", f"{total_kb:,.0f} per page")
    rows.append((*total, f"{sum(ru.values()) / pages:,.0f}"))
    return rows


def _per_event(result: dict[str, Any], field: str, kind: str) -> float:
    events: int = result["events"]
    return float(result[field].get(kind, 0)) / max(1, events)


def _row(label: str, code: str, results: list[dict[str, Any]]) -> tuple[object, ...]:
    last = results[-1]  # writes are deterministic: every round writes the same documents
    writes = [_per_event(last, "writes", kind) for kind in KINDS]
    ru = {kind: _per_event(last, "ru", kind) for kind in KINDS}
    size = last["bytes"].get("primary", 0) / max(1, last["writes"].get("primary", 0)) / 1024
    ingest = [r["events"] / r["ingest_s"] for r in results]
    cpu = [1e6 * r["ingest_cpu_s"] / r["events"] for r in results]
    rollup = [r["feed_changes"] / r["rollup_s"] for r in results if r["rollup_s"] > 0]
    return (
        label,
        code,
        *(f"{w:.4f}" for w in writes),
        f"{writes[0] + writes[3]:.4f}",
        f"{size:.1f}",
        f"{ru['primary'] + ru['rollup']:.2f}",
        f"{ru['registry']:.2f}",
        f"{sum(ru.values()):.2f}",
        " / ".join(f"{x:,.0f}" for x in ingest),
        " / ".join(f"{x:,.1f}" for x in cpu),
        " / ".join(f"{x:,.0f}" for x in rollup),
    )


def _levels(label: str, result: dict[str, Any]) -> tuple[object, ...]:
    return (label, *(f"{_per_event(result, 'rollup_levels', level):.4f}" for level in (*LEVELS, "backlog")))


def _level_sizes(label: str, result: dict[str, Any]) -> tuple[object, ...]:
    """Mean KB per write of each level ("-": none written), what a document holding another's buckets would grow by."""
    levels: dict[str, int] = result["rollup_levels"]
    sizes: dict[str, int] = result["rollup_level_bytes"]
    cells = [f"{sizes.get(level, 0) / levels[level] / 1024:.2f}" if levels.get(level) else "-" for level in LEVELS]
    return (label, *cells)


def run(
    events: int, rounds: int, baseline: Path | None, batch: int = 1000, *, chain_stores: int = CHAIN_STORES
) -> None:
    """Print the writes-per-event table (and the speed ratios to `baseline` when given)."""
    codes = [("this checkout", ROOT)] + ([("baseline", baseline)] if baseline else [])
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    runs = [(scale, batch, label, 0.0, events) for scale, label in SCALES]
    runs += [(250.0, size, f"peak (x250), live {size}-event batches", 0.0, events) for size in LIVE_BATCHES]
    ticked = min(events, LIVE_TICK_EVENTS)
    for scale, tick, what in LIVE_TICKS:
        density = dict(SCALES)[scale]
        label = f"{density}, live {tick:g} s ticks ({what}), {ticked:,} events"
        runs.append((scale, batch, label, tick, ticked))
    for round_no in range(1, rounds + 1):
        print(f"Write costs, round {round_no} of {rounds}", file=sys.stderr)
        for scale, size, label, tick, count in runs:
            for name, code in codes:
                results.setdefault((label, name), []).append(_measure(code, count, scale, size, tick))
    rows = [_row(label, name, results[(label, name)]) for _, _, label, _, _ in runs for name, _ in codes]
    print_table(
        f"Writes per event by kind, {events:,} txn events, {batch:,}-event batches unless said, rollups drained"
        f" in 1,000-change pages (live ticks: per partition and tick a batch, then the rollups drain what changed),"
        f" each run in its own process, {rounds} round(s); RU estimated per write from its measured size",
        (
            "density",
            "code",
            *KINDS,
            "primary + rollup",
            "KB per primary write",
            "RU/event primary + rollup",
            "RU/event registry",
            "RU/event all (est.)",
            "ingest events/s (rounds)",
            "ingest CPU µs/event (rounds)",
            "rollup changes/s (rounds)",
        ),
        rows,
    )
    print_table(
        "Rollup writes per event by level (this checkout): which documents the rollup column is made of",
        ("density", *LEVELS, "backlog"),
        [_levels(label, results[(label, "this checkout")][-1]) for _, _, label, _, _ in runs],
    )
    print_table(
        "Rollup KB per write by level (this checkout): the mean JSON size of each level's writes",
        ("density", *LEVELS),
        [_level_sizes(label, results[(label, "this checkout")][-1]) for _, _, label, _, _ in runs],
    )
    print(f"Sizing the rollup pages of a {chain_stores:,}-store chain ...", file=sys.stderr)
    print_table(
        f"Rollup pages of a {chain_stores:,}-store chain (20 regions, 2 channels), one hour: each minute a page in"
        " which every store's sales minute changes; per level, writes per page, mean KB per write, RU per page (est.)",
        ("code", "level", "writes per page", "KB per write", "RU per page"),
        [row for name, code in codes for row in _chain_rows(name, _measure_chain(code, chain_stores))],
    )
    for _, _, label, _, _ in runs[: len(SCALES)]:
        spans = results[(label, "this checkout")][-1]["span_s"]
        print(f"{label}: the events span {spans:,.0f} s of event time.")
    if baseline:
        for _, _, label, _, _ in runs:
            ours, base = results[(label, "this checkout")], results[(label, "baseline")]
            pairs = list(zip(ours, base, strict=True))
            ingest = [(o["events"] / o["ingest_s"]) / (b["events"] / b["ingest_s"]) for o, b in pairs]
            cpu = [b["ingest_cpu_s"] / o["ingest_cpu_s"] for o, b in pairs]
            rollup = [(b["rollup_s"] / o["rollup_s"]) for o, b in pairs if o["rollup_s"] > 0]
            print(
                f"{label}: ingest {' / '.join(f'{r:.2f}x' for r in ingest)} the baseline's speed"
                f" ({' / '.join(f'{r:.2f}x' for r in cpu)} by CPU time),"
                f" rollups {' / '.join(f'{r:.2f}x' for r in rollup)} (per round, side by side)."
            )
