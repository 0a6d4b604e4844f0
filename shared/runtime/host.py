"""`LocalHost`: the embedded Functions host. Partition consumers and change-feed pollers, driven in rounds.

A round steps every consumer (one batch at most) and every poller (one page at
most). With ``workers=1`` (the default) the round runs cooperatively in one thread;
with more, on a thread pool. Measured on 2 cores (``python -m shared.runtime.bench``):
the Python handlers hold the GIL for most of a batch, so threads add contention and
context switches without adding throughput; one thread is the default.

`run_until_quiet` drives rounds until two consecutive rounds find nothing to do
(every partition consumed to its end, every feed drained). `start`/`stop` run the
rounds on a background thread for a long-running demo; a restart resumes from the
checkpoints and feed leases.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from shared.handlers.ports import BatchHandler, ChangeHandler
from shared.runtime.checkpoints import CheckpointStore
from shared.runtime.consumer import ConsumerSettings, PartitionConsumer, Step
from shared.runtime.feed_poller import ChangeFeedPoller
from shared.runtime.local_log import LocalLog
from shared.runtime.retry import DeadlineExceeded, StopRequested
from shared.runtime.stats import RuntimeStats
from shared.stores.port import DocumentStore
from shared.topology import CONSUMER_GROUP, SOURCES, Source

__all__ = ["HostSettings", "LocalHost"]

logger = logging.getLogger(__name__)

_Task = PartitionConsumer | ChangeFeedPoller


@dataclass(frozen=True, slots=True)
class HostSettings:
    """What the host runs and how."""

    sources: tuple[Source, ...] = SOURCES
    partitions: tuple[int, ...] | None = None
    """The log partitions this host consumes (None: all). Hosts that share a log take disjoint ones, as
    Function App instances share an event hub's partitions; one of them runs the change-feed pollers."""
    feed_containers: tuple[str, ...] = ("views", "orders")
    """Containers whose change feed drives the rollup handler."""
    consumer_group: str = CONSUMER_GROUP
    consumer: ConsumerSettings = field(default_factory=ConsumerSettings)
    feed_page_size: int = 1000
    workers: int = 1
    """1: cooperative rounds in one thread (fastest on 2 cores); more: a thread pool."""
    seed: int = 0
    """Seeds each consumer's fault injection (``random.Random(f"{seed}:{source}:{partition}")``)."""
    idle_sleep_s: float = 0.02
    """Pause after a round with nothing to do (long-running mode); doubles while idle."""
    max_idle_sleep_s: float = 0.25
    """Cap of that pause: the latency of a quiet demo, and what keeps an idle host cheap."""
    progress_interval_s: float = 0.5

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if not 0 < self.idle_sleep_s <= self.max_idle_sleep_s:
            raise ValueError(
                f"need 0 < idle_sleep_s <= max_idle_sleep_s, got {self.idle_sleep_s}, {self.max_idle_sleep_s}"
            )
        if self.partitions is not None and (not self.partitions or len(set(self.partitions)) != len(self.partitions)):
            raise ValueError(f"partitions must be distinct and at least one, got {self.partitions}")
        if self.feed_page_size < 1:
            raise ValueError(f"feed_page_size must be >= 1, got {self.feed_page_size}")


class LocalHost:
    """Drives the ingest and rollup handlers from a `LocalLog` and a `DocumentStore`'s change feed.

    The host does not own the log, the checkpoint store or the document store: the
    caller opens and closes them.
    """

    def __init__(
        self,
        log: LocalLog,
        checkpoints: CheckpointStore,
        store: DocumentStore,
        ingest: BatchHandler,
        rollup: ChangeHandler,
        *,
        clock: Callable[[], datetime],
        settings: HostSettings | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        on_progress: Callable[[RuntimeStats], None] | None = None,
    ) -> None:
        """Wire the host; `clock` gives the `now` handed to handlers, `sleep` (default: wall time) backoffs."""
        self._log, self._checkpoints, self._store = log, checkpoints, store
        self._ingest, self._rollup = ingest, rollup
        self._clock, self._monotonic, self._sleep = clock, monotonic, sleep
        self._settings = settings or HostSettings()
        self._on_progress = on_progress
        self._stopping = threading.Event()
        self._tasks: list[_Task] = []
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._last_progress = float("-inf")
        self._deadline: float | None = None  # of run_until_quiet, also checked inside retry backoffs
        self._quiet = False

    # -- public API ---------------------------------------------------------------------

    def run_until_quiet(self, timeout_s: float = 60.0, more_coming: Callable[[], bool] | None = None) -> RuntimeStats:
        """Consume every partition to its end and drain the feeds; the summary of this run.

        `more_coming` (default: never) says that input is still being appended (by
        another process): while it is true, rounds with nothing to do wait for it
        instead of ending the run, and `timeout_s` counts from the moment it turns
        false. It is asked before each round, so the two idle rounds that end the run
        come after the last append was committed.

        Raises `DeadlineExceeded` (a TimeoutError) if not quiet after `timeout_s`, and re-raises the first
        non-transient handler error (after logging it).
        """
        if self.running:
            raise RuntimeError("the host is running in the background; stop() it first")
        self._stopping.clear()
        self._tasks = self._build_tasks()
        self._deadline = self._monotonic() + timeout_s
        idle_rounds = 0
        try:
            with self._executor() as pool:
                while idle_rounds < 2:
                    if self._stopping.is_set():  # stop() from another thread: a busy run has no pause to end in
                        raise StopRequested
                    waiting = more_coming is not None and more_coming()
                    if waiting:
                        self._deadline = self._monotonic() + timeout_s
                    self._check_deadline()
                    step = self._round(pool)
                    self._report(force=False)
                    if step.worked:
                        idle_rounds = 0
                    elif step.pending or waiting:  # partial batches waiting for max_wait, or input to come
                        idle_rounds = 0
                        self._pause(min(self._settings.idle_sleep_s, self._settings.consumer.max_wait_s))
                    else:
                        idle_rounds += 1
        except StopRequested:
            pass
        finally:
            self._deadline = None
        self._report(force=True)
        return self.stats()

    def start(self) -> None:
        """Run rounds on a background thread until `stop()`; resumes from checkpoints and leases."""
        if self.running:
            raise RuntimeError("the host is already running")
        self._stopping.clear()
        self._error = None
        self._quiet = False
        self._tasks = self._build_tasks()
        # daemon: if stop() is never reached (a second Ctrl-C), exiting must not hang on a
        # backoff; SQLite's WAL rolls back the interrupted transaction, delivery is at-least-once.
        self._thread = threading.Thread(target=self._run_forever, name="pulse-local-host", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> RuntimeStats:
        """Ask the background loop to stop, join it, and return the run's summary.

        The batch in flight finishes (or, mid-backoff, is abandoned uncheckpointed).
        Raises TimeoutError if the thread did not end within `timeout_s`, and the
        loop's error if it died of one.
        """
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                raise TimeoutError(f"the local host did not stop within {timeout_s}s")
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self.stats()

    def serve(self, should_stop: Callable[[], bool] = lambda: False, poll_s: float = 0.2) -> RuntimeStats:
        """Run in the background until `should_stop()` is true or Ctrl-C; stop cleanly and return the summary.

        A KeyboardInterrupt is the normal way out (threads are joined, checkpoints kept);
        an error of the loop is re-raised by the final `stop()`.
        """
        self.start()
        try:
            while self.running and not should_stop():
                self._stopping.wait(poll_s)
        except KeyboardInterrupt:
            logger.info("interrupted: stopping the local host")
        return self.stop()

    @property
    def running(self) -> bool:
        """True while the background loop runs."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def thread_id(self) -> int | None:
        """The operating system's id of the background loop's thread (None when not running)."""
        return None if self._thread is None else self._thread.native_id

    @property
    def quiet(self) -> bool:
        """True while the background loop's last round found nothing to do (log consumed, feeds drained)."""
        return self._quiet and self.running

    def stats(self) -> RuntimeStats:
        """The current run's summary so far (safe to call from another thread)."""
        total = RuntimeStats()
        for task in list(self._tasks):
            total = total + task.tally.snapshot()
        return total

    # -- the loop -----------------------------------------------------------------------

    def _run_forever(self) -> None:
        try:
            idle = self._settings.idle_sleep_s
            with self._executor() as pool:
                while not self._stopping.is_set():
                    step = self._round(pool)
                    self._quiet = not step.worked and not step.pending
                    self._report(force=False)
                    if step.worked:
                        idle = self._settings.idle_sleep_s
                    else:
                        self._pause(idle)
                        idle = min(idle * 2, self._settings.max_idle_sleep_s)
        except StopRequested:
            pass
        except BaseException as error:
            logger.exception("the local host stopped on an error")
            self._error = error
        finally:
            self._report(force=True)

    def _round(self, pool: ThreadPoolExecutor | None) -> Step:
        tasks = self._tasks
        steps: Sequence[Step] = [task.step() for task in tasks] if pool is None else list(pool.map(_step, tasks))
        return Step(worked=any(s.worked for s in steps), pending=any(s.pending for s in steps))

    def _build_tasks(self) -> list[_Task]:
        settings = self._settings
        tasks: list[_Task] = [
            PartitionConsumer(
                self._log,
                self._checkpoints,
                self._ingest,
                source,
                partition,
                consumer_group=settings.consumer_group,
                settings=settings.consumer,
                clock=self._clock,
                monotonic=self._monotonic,
                sleep=self._pause,
                rng=random.Random(f"{settings.seed}:{source}:{partition}"),
            )
            for source in settings.sources
            for partition in self._partitions()
        ]
        tasks.extend(
            ChangeFeedPoller(
                self._store,
                self._rollup,
                container,
                page_size=settings.feed_page_size,
                retry=settings.consumer.retry,
                clock=self._clock,
                sleep=self._pause,
            )
            for container in settings.feed_containers
        )
        return tasks

    def _partitions(self) -> tuple[int, ...]:
        every = self._log.partitions
        if self._settings.partitions is None:
            return tuple(range(every))
        outside = [p for p in self._settings.partitions if not 0 <= p < every]
        if outside:
            raise ValueError(f"partitions {outside} are not in the log (it has {every})")
        return self._settings.partitions

    def _check_deadline(self) -> None:
        if self._deadline is not None and self._monotonic() > self._deadline:
            raise DeadlineExceeded(f"the local runtime was not quiet in time; so far: {self.stats()}")

    def _pause(self, seconds: float) -> None:
        """Sleep (injected, or wall time cut short by stop()); StopRequested once stopping."""
        self._check_deadline()  # a batch retried forever must not outlive run_until_quiet's timeout
        if self._sleep is None:
            if self._stopping.wait(seconds):
                raise StopRequested
            return
        self._sleep(seconds)
        if self._stopping.is_set():
            raise StopRequested

    def _executor(self) -> contextlib.AbstractContextManager[ThreadPoolExecutor | None]:
        workers = self._settings.workers
        if workers == 1:
            return contextlib.nullcontext()
        return ThreadPoolExecutor(workers, thread_name_prefix="pulse-runtime")

    def _report(self, *, force: bool) -> None:
        if self._on_progress is None:
            return
        now = self._monotonic()
        if force or now - self._last_progress >= self._settings.progress_interval_s:
            self._last_progress = now
            self._on_progress(self.stats())


def _step(task: _Task) -> Step:
    return task.step()
