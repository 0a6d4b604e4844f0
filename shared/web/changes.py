"""Knowing when the KPIs changed: a version number that moves when a probe sees something new.

The server pushes a snapshot when the version moves. Two probes:

- `FeedProbe`: the store's change feeds of ``rollups`` (KPI windows, backlogs) and
  ``views`` (flow documents behind the health tiles). It sees every writer of the
  store file, another process included. The first call reads the feeds from the
  start once, to find their end.
- any callable returning a value that changes with the data, e.g. the embedded
  host's counters (``lambda: (stats.received, stats.rollup_documents_written)``), which
  the demo uses: free to call, and it moves as soon as a batch or rollup page is done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Final

from shared.stores.port import DocumentStore

__all__ = ["DEFAULT_POLL_S", "ChangeSignal", "FeedProbe"]

DEFAULT_POLL_S: Final = 0.2
"""Probe interval: with the host's batching this keeps pushes well within a second."""


class FeedProbe:
    """Callable probe over change feeds: returns how many changes it has seen so far."""

    def __init__(
        self, store: DocumentStore, containers: Sequence[str] = ("rollups", "views"), page_size: int = 1000
    ) -> None:
        self._store, self._containers, self._page_size = store, tuple(containers), page_size
        self._tokens: dict[str, str | None] = dict.fromkeys(self._containers)
        self._seen = 0

    def __call__(self) -> int:
        """Drain every feed to its current end; the running count of changed documents."""
        for container in self._containers:
            while True:
                page = self._store.change_feed(container, self._tokens[container], self._page_size)
                self._tokens[container] = page.continuation
                self._seen += len(page.docs)
                if len(page.docs) < self._page_size:
                    break
        return self._seen


class ChangeSignal:
    """Polls `probe` on a daemon thread; `version` grows by one whenever the probe's value changed."""

    def __init__(self, probe: Callable[[], Hashable], interval_s: float = DEFAULT_POLL_S) -> None:
        self._probe, self._interval_s = probe, interval_s
        self._condition = threading.Condition()
        self._version = 0
        self._last: Hashable = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        """The probe's last error (the signal keeps polling; a transient store error must not end pushes)."""

    @property
    def version(self) -> int:
        """Changes seen so far (0 before the first probe)."""
        with self._condition:
            return self._version

    def poll(self) -> int:
        """Probe once now (also usable without the thread); the version afterwards."""
        try:
            value = self._probe()
            self.error = None
        except Exception as error:  # reported through `error`, retried next poll
            self.error = error
            return self.version
        with self._condition:
            if value != self._last:
                self._last = value
                self._version += 1
                self._condition.notify_all()
            return self._version

    def wait_for_change(self, after: int, timeout_s: float) -> int:
        """Block until the version exceeds `after`, `timeout_s` passes or the signal stops; the version."""
        with self._condition:
            self._condition.wait_for(lambda: self._version > after or self._stopping.is_set(), timeout_s)
            return self._version

    def start(self) -> None:
        """Probe every `interval_s` on a daemon thread until `stop()`."""
        if self._thread is not None:
            raise RuntimeError("the change signal is already running")
        self.poll()
        self._thread = threading.Thread(target=self._run, name="pulse-web-changes", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """End the polling thread and wake every waiter."""
        self._stopping.set()
        with self._condition:
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    @property
    def stopping(self) -> bool:
        """True once `stop()` was called."""
        return self._stopping.is_set()

    def _run(self) -> None:
        while not self._stopping.wait(self._interval_s):
            self.poll()
