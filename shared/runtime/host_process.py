"""The embedded host in a process of its own: the pipeline gets an interpreter to itself.

`pulse demo` and the freshness benchmark run, beside the host, the live page (HTTP
server, snapshot cache, change signal), the alert rules, the status line and, in the
demo, the producer. In one process those threads take the interpreter lock from the
host's thread: every SQLite statement gives the lock up, and the host then waits to
take it back (issue 14: the host thread used ~70 % of a core while it fell behind at
5,000 events/s, the others ~20 %). In a process of its own, spawned (never forked: the
parent runs threads), the host's thread has an interpreter to itself and the machine's
second core runs everything else.

The child opens its own `EmbeddedSession` on the same files; SQLite's locks make two
processes safe, and the child writes everything but the parent's few documents (the
demo's cursor, alert state). It publishes its `RuntimeStats` every `PUBLISH_S` on a
pipe, and `stats()` returns the latest. It ignores Ctrl-C (the terminal sends it to
the whole process group; the parent decides when to stop), stops when `stop()` asks or
when its parent is gone (its reports' pipe breaks, or its parent's id changes), and
sends its final summary, or its error in words, on the way out.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any, Final

from shared.runtime.gc_tuning import tune_gc_for_throughput
from shared.runtime.host import HostSettings
from shared.runtime.session import EmbeddedSession, SessionOptions
from shared.runtime.stats import RuntimeStats

__all__ = ["PUBLISH_S", "HostProcess", "HostProcessError"]

PUBLISH_S: Final = 0.05
"""How often the child sends its counters: the page's change signal polls them every 0.1 s."""


class HostProcessError(RuntimeError):
    """The host process stopped on an error (its traceback in the message) or died."""


@dataclass(frozen=True, slots=True)
class _Report:
    stats: RuntimeStats
    quiet: bool
    thread_id: int | None = None
    final: bool = False
    error: str | None = None


class HostProcess:
    """`start`, `stats`, `quiet`, `running` and `stop` of a `LocalHost`, run in a spawned process.

    `clock` is sent to the child, so it must pickle when the process is spawned (a
    module-level class whose state is a `multiprocessing` shared value, as
    `shared.runtime.demo_clock.SimulatedClock`).
    """

    def __init__(self, options: SessionOptions, settings: HostSettings, clock: Callable[[], datetime]) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        receiving, sending = context.Pipe(duplex=False)
        self._receiving = receiving
        self._process = context.Process(
            target=_run_child,
            args=(options, settings, clock, sending, self._stop, os.getpid()),
            name="pulse-host",
            daemon=True,
        )
        self._sending = sending
        self._latest = _Report(RuntimeStats(), quiet=False)
        self._final: _Report | None = None
        self._lock = threading.Lock()
        self._receiver: threading.Thread | None = None

    def start(self) -> None:
        """Spawn the child (it opens the session and starts the host's rounds)."""
        if self._receiver is not None:
            raise RuntimeError("the host process is already started")
        previous = None
        if threading.current_thread() is threading.main_thread():  # the child starts with Ctrl-C ignored
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self._process.start()
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        self._sending.close()  # the child's end: the parent keeps only its own
        self._receiver = threading.Thread(target=self._receive, name="pulse-host-reports", daemon=True)
        self._receiver.start()

    @property
    def pid(self) -> int | None:
        """The child's process id (None before `start`)."""
        return self._process.pid

    def stats(self) -> RuntimeStats:
        """The child's summary as last published (at most `PUBLISH_S` old while it runs)."""
        with self._lock:
            return self._latest.stats

    @property
    def thread_id(self) -> int | None:
        """The operating system's id of the host's thread in the child, once reported (for CPU figures)."""
        with self._lock:
            return self._latest.thread_id

    @property
    def quiet(self) -> bool:
        """True while the child's last round found nothing to do (log consumed, feeds drained)."""
        with self._lock:
            return self._latest.quiet and self._final is None

    @property
    def running(self) -> bool:
        """True while the child runs its host."""
        return self._process.is_alive() and self._final is None

    def stop(self, timeout_s: float = 10.0) -> RuntimeStats:
        """Ask the child to stop, wait for its final summary and return it; raise its error if it had one."""
        self._stop.set()
        if self._receiver is not None:
            self._receiver.join(timeout_s)
        self._process.join(max(1.0, timeout_s / 3))
        if self._process.is_alive():
            self._process.kill()
            raise TimeoutError(f"the host process did not stop within {timeout_s}s")
        final = self._final
        if final is None:
            raise HostProcessError(f"the host process ended without its summary (exit code {self._process.exitcode})")
        if final.error is not None:
            raise HostProcessError(f"the host process stopped on an error:\n{final.error}")
        return final.stats

    def _receive(self) -> None:
        while True:
            try:
                report: _Report = self._receiving.recv()
            except (EOFError, OSError):  # the child ended (its summary, if any, came before)
                return
            with self._lock:
                self._latest = report
                if report.final:
                    self._final = report
                    return


def _run_child(
    options: SessionOptions,
    settings: HostSettings,
    clock: Callable[[], datetime],
    channel: Connection,
    stop: Any,
    parent: int,
) -> None:
    """The child's body: the session, the host, a report every `PUBLISH_S`, the final summary."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    error: str | None = None
    stats = RuntimeStats()
    try:
        with EmbeddedSession(options) as session:
            host = session.host(settings, clock)
            tune_gc_for_throughput()  # the reference data and the session are loaded: a long-running ingest process
            host.start()
            try:
                while host.running and not stop.wait(PUBLISH_S) and os.getppid() == parent:
                    channel.send(_Report(host.stats(), host.quiet, host.thread_id))
            finally:
                stats = host.stop(timeout_s=30.0)
    except BaseException:  # reported in words to the parent, which raises it
        error = traceback.format_exc()
    with contextlib.suppress(OSError):  # BrokenPipeError: the parent is gone
        channel.send(_Report(stats, quiet=False, final=True, error=error))
    channel.close()
