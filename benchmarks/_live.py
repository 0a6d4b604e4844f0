"""One live run for the freshness and soak benchmarks: the embedded runtime as `pulse demo` wires it.

In this process: the session (`open_session(..., demo=True)`), the `ChangeSignal`,
the `LiveServer` with its snapshot cache, and the alert runner; in a process of its
own, the `LocalHost` with the pipeline's handlers and rollups (`HostProcess`): the
same objects and processes `pulse demo` runs (Power BI and the raw-zone export are
off, as in a default demo). In another process: the open-loop producer
(`benchmarks._producer`). In another, as a browser would be, a reader polls ``GET
/api/snapshot`` over loopback HTTP (the embedded page has no sign-in; `benchmarks._reader`)
and records, per sample, delivery -> visible.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from benchmarks._cpu import (
    CpuSample,
    MachineSample,
    MachineShares,
    cpu_sample,
    disk_of,
    machine_sample,
    machine_shares,
)
from benchmarks._producer import ProducerPlan, produce
from benchmarks._reader import read_snapshots
from benchmarks._rss import process_rss_mib, tree_rss_mib
from shared.cli._embedded import open_session
from shared.cli._progress import ProgressLine
from shared.cli.demo import data_version
from shared.cli.sla import DEFAULT_CONFIG, read_config
from shared.runtime.alert_runner import AlertRunner
from shared.runtime.host import HostSettings
from shared.runtime.host_process import HostProcess
from shared.runtime.log_files import log_path
from shared.runtime.stats import RuntimeStats
from shared.web import ChangeSignal, LiveServer, ServerOptions

__all__ = ["LiveRun", "Minute", "RunResult", "run_live"]

MACHINE_EVERY_S = 1.0
"""How often the machine's counters are read (a process that ends loses at most this much of its CPU)."""
_DRAIN_S = 15.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class LiveRun:
    """One run: `rate` events/s for `duration_s`, the stream of (seed, scale) from `start`."""

    folder: Path
    rate: float
    duration_s: float
    scale: float = 100.0
    seed: int = 0
    start: datetime = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    rss_every_s: float = 10.0
    partitions: int = 4


@dataclass(slots=True)
class RunResult:
    """What one run measured (latencies in seconds; `censored`: never seen visible, counted at their age)."""

    rate: float
    duration_s: float
    sent: int = 0
    processed: int = 0
    warm_up_s: float = 0.0
    latencies: list[tuple[float, bool, float]] = field(default_factory=list)
    """(seconds, censored, sent after the measured start in seconds) per sample."""
    rss: list[tuple[float, float]] = field(default_factory=list)
    """(seconds since the measured start, tree RSS MiB)."""
    parts: list[tuple[float, float, float, float, float]] = field(default_factory=list)
    """(seconds, RSS MiB of the runtime's main process, of its host process, of the producer's, of the reader's)."""
    work: RuntimeStats | None = None
    """What the runtime did in the measured window (batches, feed pages, writes)."""
    cpu: CpuSample | None = None
    """CPU seconds of the measured window by runtime thread and by helper process (`benchmarks._cpu`)."""
    machine: list[tuple[float, MachineSample]] = field(default_factory=list)
    """(seconds since the measured start, the machine's CPU and disk counters) every `MACHINE_EVERY_S`."""

    @property
    def sent_rate(self) -> float:
        return self.sent / self.duration_s

    @property
    def processed_rate(self) -> float:
        return self.processed / self.duration_s

    def percentile(self, percent: float) -> tuple[float, bool] | None:
        """(seconds, censored) of the sample at the percentile (nearest rank); None without samples."""
        return _percentile([(seconds, censored) for seconds, censored, _ in self.latencies], percent)

    def minutes(self) -> list[Minute]:
        """Latency and the machine's CPU and disk per minute of the measured window (samples by when sent)."""
        by_minute: dict[int, list[tuple[float, bool]]] = {}
        last = max(0, -(-int(self.duration_s) // 60) - 1)  # a sample sent in the run's last instant: its last minute
        for seconds, censored, sent_s in self.latencies:
            by_minute.setdefault(min(last, int(sent_s // 60)), []).append((seconds, censored))
        out = []
        for index, samples in sorted(by_minute.items()):
            shares = machine_shares([m for t, m in self.machine if index * 60 <= t <= (index + 1) * 60 + 1e-6])
            p95, p99, worst = (_percentile(samples, p) for p in (95, 99, 100))
            out.append(Minute(index, len(samples), p95, p99, worst, shares))
        return out


class Minute(NamedTuple):
    """One minute of a run: its samples' p95 / p99 / max (seconds, censored) and the machine's CPU and disk."""

    minute: int
    samples: int
    p95: tuple[float, bool] | None
    p99: tuple[float, bool] | None
    worst: tuple[float, bool] | None
    machine: MachineShares | None


def _percentile(samples: list[tuple[float, bool]], percent: float) -> tuple[float, bool] | None:
    """(seconds, censored) of the sample at the percentile (nearest rank); None without samples."""
    ordered = sorted(samples)
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[int(rank) - 1]


class ProducerClock:
    """The simulated clock the producer publishes (ms in a shared value); it pickles into the host's process."""

    def __init__(self, clock_ms: Any) -> None:
        self._clock_ms = clock_ms

    def __call__(self) -> datetime:
        return _EPOCH + timedelta(milliseconds=self._clock_ms.value)


def run_live(
    plan: LiveRun, progress: ProgressLine, label: str, on_sample: Callable[[RunResult], None] | None = None
) -> RunResult:
    """One run in `plan.folder` (a fresh store); the figures of its measured window."""
    db = plan.folder / f"fresh-{int(plan.rate)}.db"
    args = argparse.Namespace(db=db, reference=None, seed=plan.seed)
    context = multiprocessing.get_context("spawn")  # this process runs threads: never fork it
    shared: dict[str, Any] = {
        "clock_ms": context.Value("q", 0),
        "sent": context.Value("q", 0),
        "samples": context.Queue(),
        "ready": context.Event(),
        "go": context.Event(),
        "stop": context.Event(),
        "reader_stop": context.Event(),
        "resolved": context.Value("q", 0),
        "pending": context.Value("q", 0),
        "p95_ms": context.Value("q", -1),
        "results": context.Queue(),
        "cpu_s": context.Value("d", -1.0),
        "started_at": context.Value("d", 0.0),
    }
    result = RunResult(plan.rate, plan.duration_s)
    with open_session(args, demo=True) as session:
        event_log = log_path(session.options.db)  # the log's own file: appends never wait on the store
        producer = context.Process(
            target=produce,
            args=(
                ProducerPlan(event_log, plan.partitions, plan.rate, plan.duration_s, plan.seed, plan.scale, plan.start),
                shared,
            ),
            name="bench-producer",
        )
        clock = ProducerClock(shared["clock_ms"])
        host = HostProcess(session.options, HostSettings(seed=plan.seed), clock)
        changes = ChangeSignal(lambda: data_version(host), interval_s=0.1)  # as `pulse demo` watches it
        server = LiveServer(
            session.store, clock, reference=session.pipeline.reference, signal=changes,
            options=ServerOptions("127.0.0.1", 0),
        )  # fmt: skip
        alerts = AlertRunner(session.store, read_config(DEFAULT_CONFIG), session.pipeline.reference, clock)
        warm = time.monotonic()
        producer.start()
        while not shared["ready"].wait(0.5):
            progress.update(f"{label}: the producer draws the first simulated hour ({time.monotonic() - warm:.0f} s)")
            if not producer.is_alive():
                raise RuntimeError("the producer died during its warm-up")
        host.start()
        while host.thread_id is None:  # the host's process imports, opens the session and starts its rounds
            progress.update(f"{label}: the host's process starts ({time.monotonic() - warm:.0f} s)")
            if not host.running:
                host.stop()  # raises the child's error
                raise RuntimeError("the host's process ended during its start")
            time.sleep(0.05)
        result.warm_up_s = time.monotonic() - warm
        changes.start()
        server.start()
        alerts.start()
        reader = context.Process(
            target=read_snapshots,
            args=(server.url, {**shared, "stop": shared["reader_stop"]}),
            name="bench-reader",
        )
        reader.start()
        shared["started_at"].value = time.time()
        shared["go"].set()
        started = last_rss = time.monotonic()
        helpers = {"producer": producer.pid, "reader": reader.pid, "host": host.pid}
        tasks = {"pulse-local-host": (host.pid, host.thread_id)}
        cpu_start = cpu_last = cpu_sample(helpers, tasks)
        result.rss.append((0.0, tree_rss_mib()))
        disk = disk_of(plan.folder)
        result.machine.append((0.0, machine_sample(disk=disk)))
        try:
            while producer.is_alive() and time.monotonic() - started < plan.duration_s + 5:
                now = time.monotonic()
                if now - last_rss >= plan.rss_every_s:
                    result.rss.append((now - started, tree_rss_mib()))
                    cpu_last = cpu_sample(helpers, tasks).after(cpu_last)
                    result.parts.append(
                        (
                            now - started,
                            process_rss_mib(),
                            process_rss_mib(host.pid),
                            tree_rss_mib(producer.pid),
                            tree_rss_mib(reader.pid),
                        )
                    )
                    last_rss = now
                    if on_sample is not None:
                        on_sample(result)
                if now - result.machine[-1][0] - started >= MACHINE_EVERY_S:
                    result.machine.append((now - started, machine_sample(disk=disk)))
                _progress(progress, label, result, now - started, shared["sent"].value, host.stats().received, shared)
                time.sleep(0.2)
            result.sent = shared["sent"].value
            result.machine.append((time.monotonic() - started, machine_sample(disk=disk)))
            final = cpu_sample(helpers, tasks).after(cpu_last)
            if shared["cpu_s"].value >= 0:  # the producer ended: what it counted itself on the way out
                final = CpuSample(final.threads, {**final.processes, "producer": shared["cpu_s"].value}, final.wall)
            result.cpu = final.since(cpu_start)
            result.work = host.stats()  # the host started empty, just before the producer
            result.processed = result.work.received
            drain = time.monotonic()
            while shared["pending"].value and time.monotonic() - drain < _DRAIN_S:
                progress.update(f"{label}: waiting for the last samples to show ({shared['pending'].value:,} left)")
                time.sleep(0.2)
        finally:
            shared["stop"].set()
            shared["reader_stop"].set()
            latencies = shared["results"].get(timeout=60) if reader.is_alive() else []
            reader.join(35)
            producer.join(30)
            if producer.is_alive():
                producer.terminate()
            alerts.stop()
            server.close()
            changes.stop()
            host.stop(timeout_s=30.0)
        result.latencies = latencies
    return result


def _progress(
    progress: ProgressLine,
    label: str,
    result: RunResult,
    elapsed: float,
    sent: int,
    received: int,
    shared: dict[str, Any],
) -> None:
    resolved, p95_ms = shared["resolved"].value, shared["p95_ms"].value
    p95 = f"{p95_ms / 1000:.2f} s" if p95_ms >= 0 else "-"
    progress.update(
        f"{label}: {elapsed:4.0f}/{result.duration_s:g} s | sent {sent:,} ({sent / max(elapsed, 1e-9):,.0f}/s) | "
        f"processed {received:,} | behind {max(0, sent - received):,} | samples {resolved:,}, p95 {p95} | "
        f"RSS {result.rss[-1][1]:,.0f} MiB"
    )
