"""Memory under load: RSS of the whole process tree every 10 s, at a fixed rate, then of a default demo.

`python -m benchmarks soak --minutes 10 --rate 5000` runs the freshness harness
(`benchmarks._live`: the embedded runtime as `pulse demo` wires it, the producer in
its own process) for the given minutes and samples the tree's RSS (this process,
the producer, multiprocessing's helper) every `EVERY_S`; it prints the table, the
value at minute 2 and the largest deviation from it after minute 2 (targets: under
`TARGET_MIB` and within +10 %), with the run's freshness figures. Then it runs
`pulse demo` with its defaults (what `make demo` runs) for ``--demo-minutes`` and
samples that tree the same way (target: under `DEMO_TARGET_MIB`).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import print_table
from benchmarks._live import LiveRun, run_live
from benchmarks._rss import tree_rss_mib
from benchmarks.freshness import NOISE, cell, machine_note
from shared.cli._progress import ProgressLine

__all__ = ["RATE", "run"]

RATE = 5_000.0
EVERY_S = 10.0
TARGET_MIB = 400.0
DEMO_TARGET_MIB = 250.0
GROWTH = 0.10


def run(minutes: float, rate: float, scale: float, demo_minutes: float) -> None:
    with tempfile.TemporaryDirectory(prefix="pulse-soak-") as tmp:
        progress = ProgressLine()
        result = run_live(LiveRun(Path(tmp), rate, minutes * 60, scale, rss_every_s=EVERY_S), progress, "soak")
        progress.done()
        _rss_table(f"RSS under load: {rate:,.0f} ev/s target for {minutes:g} min, rate-scale {scale:g}", result.rss)
        print(
            f"\nSent {result.sent_rate:,.0f} ev/s, processed {result.processed_rate:,.0f} ev/s; delivery -> visible "
            f"p50 {cell(result, 50)} s, p95 {cell(result, 95)} s, p99 {cell(result, 99)} s, max {cell(result, 100)} s "
            f"({len(result.latencies):,} samples)"
        )
        print(f"The machine: {machine_note(result)}.")
        _verdict(result.rss, TARGET_MIB, growth=True)
        _parts(result.parts)
        if demo_minutes > 0:
            demo = _demo_rss(Path(tmp) / "demo.db", demo_minutes * 60)
            _rss_table(f"RSS of `pulse demo` with its defaults (`make demo`), {demo_minutes:g} min", demo)
            _verdict(demo, DEMO_TARGET_MIB, growth=False)
    print(f"Noise: {NOISE}.")


def _rss_table(title: str, samples: list[tuple[float, float]]) -> None:
    print_table(title, ("second", "tree RSS MiB"), [(f"{at:.0f}", f"{mib:,.0f}") for at, mib in samples])


def _parts(parts: list[tuple[float, float, float, float, float]]) -> None:
    """The tree's RSS by process: the runtime (what `pulse demo` runs) apart from the load generator and the reader."""
    if not parts:
        return
    print_table(
        "RSS by process under load (the tree above is their sum: the producer and the reader stand for the event "
        "source and the browser)",
        ("second", "runtime MiB (main + host)", "main process MiB", "host process MiB", "producer MiB", "reader MiB"),
        [
            (f"{at:.0f}", f"{main + host:,.0f}", f"{main:,.0f}", f"{host:,.0f}", f"{producer:,.0f}", f"{reader:,.0f}")
            for at, main, host, producer, reader in parts
        ],
    )
    print("\nThe runtime alone (its main and host processes):", end="")
    _verdict([(at, main + host) for at, main, host, _, _ in parts], TARGET_MIB, growth=True)


def _verdict(samples: list[tuple[float, float]], target: float, *, growth: bool) -> None:
    peak = max(mib for _, mib in samples)
    print(f"\nMax {peak:,.0f} MiB (target < {target:,.0f} MiB): {'met' if peak < target else 'NOT met'}")
    if not growth:
        return
    after = [(at, mib) for at, mib in samples if at >= 120]
    if not after:
        print("Minute 2: the run is shorter than 2 minutes (no growth figure)")
        return
    base = after[0][1]
    worst = max(mib - base for _, mib in after)
    share = worst / base
    verdict = "met" if share <= GROWTH else "NOT met"
    print(
        f"Minute 2: {base:,.0f} MiB; max deviation after it {worst:+,.0f} MiB ({share:+.1%}; "
        f"target <= +10 %): {verdict}"
    )


def _demo_rss(db: Path, seconds: float) -> list[tuple[float, float]]:
    """`pulse demo` (defaults; any free port, its own file) for `seconds`; its tree's RSS every `EVERY_S`."""
    command = [sys.executable, "-m", "shared.cli.main", "demo", "--db", str(db), "--port", "0"]
    command += ["--duration", f"{seconds:g}"]
    samples: list[tuple[float, float]] = []
    progress = ProgressLine()
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as demo:
        started = time.monotonic()
        while demo.poll() is None:
            time.sleep(min(EVERY_S, 1.0))
            at = time.monotonic() - started
            if not samples or at - samples[-1][0] >= EVERY_S:
                mib = tree_rss_mib(demo.pid)
                if demo.poll() is not None:
                    break  # it ended while we read: an exited process's statm reads 0, not its RSS
                samples.append((at, mib))
                progress.update(f"pulse demo: {at:.0f}/{seconds:g} s, RSS {samples[-1][1]:,.0f} MiB")
        if demo.returncode != 0:
            raise RuntimeError(f"pulse demo exited with {demo.returncode}")
    progress.done()
    return samples or [(0.0, 0.0)]
