"""Freshness under load: events/s sent open-loop, delivery -> visible in the KPI API, per rate.

`python -m benchmarks freshness --rate 5000 --duration 600` runs one rate; without
``--rate`` (or with ``--find-max``) a ladder of rates (``--rates``), each on a fresh
store, and the highest rate whose p95 stays under `TARGET_P95_S`.

What is measured (see `benchmarks._live`): the embedded runtime wired as `pulse
demo` wires it, fed by a producer in its own process at a fixed rate (the demo's
stream at ``--rate-scale``, all seven sources mixed, no faults); a sample is a
producer commit's count of sales in one minute of event time, visible once ``GET
/api/snapshot``'s chain series shows that many transactions in that minute, so
ingest, rollups, the change signal, the snapshot cache and HTTP are all included.
The producer's warm-up (drawing its first simulated hour) is not measured.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks._common import print_table
from benchmarks._cpu import MachineShares, machine_shares
from benchmarks._live import LiveRun, RunResult, run_live
from shared.cli._progress import ProgressLine

__all__ = ["LADDER", "TARGET_P95_S", "TARGET_P99_S", "cell", "machine_note", "minutes_table", "run"]

LADDER = (1_000.0, 2_500.0, 5_000.0)
TARGET_P95_S = 1.0
TARGET_P99_S = 2.0
NOISE = "2 shared cores, other work running: figures are noisy; compare rates within one run"


def cell(result: RunResult, percent: float) -> str:
    """A latency cell: seconds with 2 decimals, ``>=`` when the sample was never seen (its age at the end)."""
    return _seconds(result.percentile(percent))


def _seconds(found: tuple[float, bool] | None) -> str:
    if found is None:
        return "-"
    seconds, censored = found
    return f"{'>= ' if censored else ''}{seconds:.2f}"


def run(
    rates: list[float] | None, duration_s: float, scale: float, find_max: bool, folder: Path | None = None
) -> list[RunResult]:
    """Run each rate (the ladder without `rates`); print the table and the highest rate meeting the p95 target."""
    ladder = rates or list(LADDER)
    if find_max and rates and len(rates) == 1:
        ladder = sorted({*LADDER, *rates})
    results = []
    with tempfile.TemporaryDirectory(prefix="pulse-freshness-", dir=folder) as tmp:
        for rate in ladder:
            progress = ProgressLine()
            plan = LiveRun(Path(tmp), rate, duration_s, scale)
            results.append(run_live(plan, progress, f"{rate:,.0f} ev/s"))
            progress.done()
    _report(results, duration_s, scale)
    return results


def _work_row(r: RunResult) -> tuple[object, ...]:
    work = r.work
    assert work is not None
    events = max(1, work.received)
    return (
        f"{r.rate:,.0f}",
        f"{work.batches / r.duration_s:,.1f}",
        f"{work.events / max(1, work.batches):,.1f}",
        f"{work.documents_written / events:.3f}",
        f"{work.feed_pages / r.duration_s:,.1f}",
        f"{work.changes / max(1, work.feed_pages):,.1f}",
        f"{work.rollup_documents_written / events:.3f}",
    )


def _cpu_row(r: RunResult) -> tuple[object, ...]:
    cpu = r.cpu
    assert cpu is not None
    host = cpu.threads.get("pulse-local-host", 0.0)
    host_others = max(0.0, cpu.processes.get("host", host) - host)  # its SQLite checkpoints, its reports
    main = sum(cpu.threads.values()) - host  # the page, its snapshots, the change signal, the alert rules
    helpers = [cpu.processes.get(name, 0.0) for name in ("producer", "reader")]
    total = host + host_others + main + sum(helpers)
    per_event = host / max(1, r.processed) * 1e6
    cells = [cpu.share(s) for s in (host, host_others, main, *helpers, total)]
    return (f"{r.rate:,.0f}", f"{cells[0]:.0f} %", f"{per_event:,.0f}", *(f"{c:.0f} %" for c in cells[1:]))


def _report(results: list[RunResult], duration_s: float, scale: float) -> None:
    print_table(
        f"Freshness, delivery -> visible in GET /api/snapshot ({duration_s:g} s per rate, rate-scale {scale:g}, "
        "all seven sources, faults none)",
        ("target ev/s", "sent ev/s", "processed ev/s", "samples", "p50 s", "p95 s", "p99 s", "max s", "max RSS MiB"),
        [
            (
                f"{r.rate:,.0f}",
                f"{r.sent_rate:,.0f}",
                f"{r.processed_rate:,.0f}",
                f"{len(r.latencies):,}",
                cell(r, 50),
                cell(r, 95),
                cell(r, 99),
                cell(r, 100),
                f"{max(m for _, m in r.rss):,.0f}",
            )
            for r in results
        ],
    )
    print_table(
        "What the runtime did in those runs (batches and feed pages of the measured window)",
        (
            "target ev/s",
            "ingest batches/s",
            "messages per batch",
            "ingest writes/event",
            "rollup pages/s",
            "changes per page",
            "rollup writes/event",
        ),
        [_work_row(r) for r in results if r.work is not None],
    )
    print_table(
        "Where the cores went in those runs (CPU as % of one core over the measured window; 2 cores = 200 %)",
        (
            "target ev/s",
            "host thread",
            "host CPU us/event",
            "host process, other threads",
            "main process (page, alerts)",
            "producer",
            "reader",
            "total",
        ),
        [_cpu_row(r) for r in results if r.cpu is not None and r.cpu.wall > 0],
    )
    print(
        "The host thread runs ingest and rollups one batch after another, in a process of its own: near 100 % it has"
        " no slack, and events wait."
    )
    for r in results:
        minutes_table(r)
    print()
    for r in results:
        never = sum(censored for _, censored, _ in r.latencies)
        note = f"; {never:,} samples never visible (counted at their age: '>=')" if never else ""
        print(f"- {r.rate:,.0f} ev/s: producer warm-up {r.warm_up_s:.0f} s (not measured){note}")
    good = [r for r in results if _meets(r)]
    best = max((r.rate for r in good), default=None)
    print(
        f"\nHighest rate with p95 <= {TARGET_P95_S:g} s and p99 <= {TARGET_P99_S:g} s, sent and processed at "
        f"95 % of the target or more: {'none' if best is None else f'{best:,.0f} ev/s'} (target 5,000 ev/s)"
    )
    print(f"Noise: {NOISE}.")
    for r in results:
        print(f"- {r.rate:,.0f} ev/s: {machine_note(r)}")


def minutes_table(result: RunResult) -> None:
    """Latency, the machine's CPU and the store's disk minute by minute: where an episode was, and what else ran."""

    def share(shares: MachineShares | None, name: str) -> str:
        value = None if shares is None else getattr(shares, name)
        return "-" if value is None else f"{value:.0f} %" if name != "disk_mib_s" else f"{value:.1f}"

    print_table(
        f"Minute by minute at {result.rate:,.0f} ev/s (samples by the minute they were sent; the machine's CPU as %"
        " of all its cores, from /proc/stat; the store's disk, from /proc/diskstats)",
        (
            "minute",
            "samples",
            "p95 s",
            "p99 s",
            "max s",
            "this benchmark",
            "other processes",
            "stolen (hypervisor)",
            "disk busy",
            "disk MiB/s written",
        ),
        [
            (
                m.minute + 1,
                f"{m.samples:,}",
                *(_seconds(x) for x in (m.p95, m.p99, m.worst)),
                *(share(m.machine, name) for name in ("ours", "others", "stolen", "disk_busy", "disk_mib_s")),
            )
            for m in result.minutes()
        ],
    )


def machine_note(result: RunResult) -> str:
    """The machine's CPU and the store's disk over the measured window, in words: what else ran beside the run."""
    shares = machine_shares([sample for _, sample in result.machine])
    if shares is None:
        return "the machine's CPU was not sampled"
    disk = "" if shares.disk_busy is None else f"; the run's disk was busy {shares.disk_busy:.0f} % of the time"
    return (
        f"over the measured window this benchmark's processes used {shares.ours:.0f} % of the machine's cores,"
        f" other processes {shares.others:.0f} %, and the hypervisor took {shares.stolen:.1f} % (steal){disk}"
    )


def _meets(result: RunResult) -> bool:
    p95, p99 = result.percentile(95), result.percentile(99)
    if p95 is None or p99 is None or p95[1] or p99[1]:
        return False
    fast_enough = result.sent_rate >= 0.95 * result.rate and result.processed_rate >= 0.95 * result.rate
    return fast_enough and p95[0] <= TARGET_P95_S and p99[0] <= TARGET_P99_S
