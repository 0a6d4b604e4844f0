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

`pulse ingest` runs its host the same way, in the other mode (`until_quiet_s`): the
child runs `LocalHost.run_until_quiet` while the parent appends the input files to the
log and exports the raw zone, and `finish()` says the input is complete; the child
drains it and ends. Appends (parsing lines, log writes) and ingest (validation,
exactly-once, documents, rollups) then run on the two cores at once, instead of one
after the other.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import pickle
import signal
import sqlite3
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any, Final

from shared.runtime.gc_tuning import tune_gc_for_throughput
from shared.runtime.host import HostSettings, LocalHost
from shared.runtime.retry import DeadlineExceeded
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
    exception: BaseException | None = None
    """The error itself when it pickles: `finish()` raises the kinds the CLI words (timeout, store)."""


class HostProcess:
    """`start`, `stats`, `quiet`, `running` and `stop` of a `LocalHost`, run in a spawned process.

    `clock` is sent to the child, so it must pickle when the process is spawned (a
    module-level class whose state is a `multiprocessing` shared value, as
    `shared.runtime.demo_clock.SimulatedClock`).

    With `until_quiet_s`, the child runs until quiet instead of until stopped: it
    consumes what is appended meanwhile, and after `finish()` drains the rest and ends
    (`until_quiet_s` is `LocalHost.run_until_quiet`'s timeout, counted from `finish()`).
    """

    def __init__(
        self,
        options: SessionOptions,
        settings: HostSettings,
        clock: Callable[[], datetime],
        *,
        until_quiet_s: float | None = None,
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._finish = context.Event()
        self._until_quiet_s = until_quiet_s
        receiving, sending = context.Pipe(duplex=False)
        self._receiving = receiving
        self._process = context.Process(
            target=_run_child,
            args=(options, settings, clock, sending, self._stop, os.getpid())
            + (() if until_quiet_s is None else (self._finish, until_quiet_s)),
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
        return self._final_stats(self._join(timeout_s))

    def finish(
        self, on_progress: Callable[[RuntimeStats], None] | None = None, progress_interval_s: float = 0.5
    ) -> RuntimeStats:
        """The input is complete (`until_quiet_s` mode): wait until the child has drained it; its summary.

        Calls `on_progress` with the child's counters every `progress_interval_s` while it waits.
        Raises the child's `DeadlineExceeded` (not quiet within `until_quiet_s`) or SQLite error
        as such, any other error as `HostProcessError`.
        """
        if self._until_quiet_s is None:
            raise RuntimeError("finish() is for a host process started with until_quiet_s")
        self._finish.set()
        while self._receiver is not None and self._receiver.is_alive():
            if on_progress is not None:
                on_progress(self.stats())
            self._receiver.join(progress_interval_s)
        final = self._join(timeout_s=30.0)
        if final is not None and isinstance(final.exception, DeadlineExceeded | sqlite3.Error):
            raise final.exception from HostProcessError(f"the host process stopped on an error:\n{final.error}")
        return self._final_stats(final)

    def _join(self, timeout_s: float) -> _Report | None:
        if self._receiver is not None:
            self._receiver.join(timeout_s)
        self._process.join(max(1.0, timeout_s / 3))
        if self._process.is_alive():
            self._process.kill()
            raise TimeoutError(f"the host process did not stop within {timeout_s}s")
        return self._final

    def _final_stats(self, final: _Report | None) -> RuntimeStats:
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
    finish: Any = None,
    timeout_s: float = 0.0,
) -> None:
    """The child's body: the session, the host (until stopped, or with `finish` until quiet), the final summary."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if finish is not None:
        _die_with(parent)
    error: str | None = None
    exception: BaseException | None = None
    stats = RuntimeStats()
    try:
        with EmbeddedSession(options) as session:
            host = session.host(settings, clock)
            tune_gc_for_throughput()  # the reference data and the session are loaded: a long-running ingest process
            if finish is None:
                stats = _serve(host, channel, stop, parent)
            else:
                stats = _until_quiet(host, channel, stop, parent, finish, timeout_s)
    except BaseException as caught:  # reported in words (and in kind) to the parent, which raises it
        error, exception = traceback.format_exc(), caught
    _send_final(channel, stats, error, exception)


_PR_SET_PDEATHSIG: Final = 1


def _die_with(parent: int) -> None:
    """Be killed with the parent (Linux's `PR_SET_PDEATHSIG`), as the one process of `pulse ingest` was.

    A `kill -9` of `pulse ingest` must not leave its host writing while a re-run starts
    another on the same partitions: the broken pipe is noticed only between rounds. The
    signal comes when the parent's *thread* that started the child ends, so `pulse
    ingest` starts it from its main thread. Elsewhere (no `prctl`) the broken pipe stays
    the only way.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent was gone before the call took effect
        os._exit(1)


def _serve(host: LocalHost, channel: Connection, stop: Any, parent: int) -> RuntimeStats:
    """The host's rounds on a thread of theirs, a report every `PUBLISH_S` from this one, until stopped."""
    host.start()
    try:
        while host.running and not stop.wait(PUBLISH_S) and os.getppid() == parent:
            if not _sent(channel, _Report(host.stats(), host.quiet, host.thread_id)):
                break  # the parent is gone
    finally:
        stats = host.stop(timeout_s=30.0)
    return stats


def _until_quiet(
    host: LocalHost, channel: Connection, stop: Any, parent: int, finish: Any, timeout_s: float
) -> RuntimeStats:
    """`run_until_quiet` on this thread until `finish` and quiet; reports from another thread."""
    done = threading.Event()
    reporter = threading.Thread(
        target=_report_until, args=(host, channel, stop, parent, done), name="pulse-host-reports", daemon=True
    )
    reporter.start()
    try:
        return host.run_until_quiet(timeout_s, more_coming=lambda: not finish.is_set())
    finally:
        done.set()
        reporter.join()


def _report_until(host: LocalHost, channel: Connection, stop: Any, parent: int, done: threading.Event) -> None:
    """Send the host's counters every `PUBLISH_S` until `done`; stop the host if the parent asks or is gone."""
    thread_id = threading.main_thread().native_id
    while not done.wait(PUBLISH_S):
        if stop.is_set() or os.getppid() != parent or not _sent(channel, _Report(host.stats(), False, thread_id)):
            host.stop()  # run_until_quiet ends before its next round, its batch in flight finished
            return


def _sent(channel: Connection, report: _Report) -> bool:
    """Send `report`; False when the parent is gone (its end of the pipe closed)."""
    try:
        channel.send(report)
    except OSError:  # BrokenPipeError
        return False
    return True


def _send_final(channel: Connection, stats: RuntimeStats, error: str | None, exception: BaseException | None) -> None:
    if exception is not None:
        try:
            pickle.dumps(exception)
        except Exception:  # an error that does not pickle is reported in words only
            exception = None
    with contextlib.suppress(OSError):  # BrokenPipeError: the parent is gone
        channel.send(_Report(stats, quiet=False, final=True, error=error, exception=exception))
    channel.close()
