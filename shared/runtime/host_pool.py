"""Several host processes on one log, each consuming its own partitions: `pulse ingest` on every core.

One `HostProcess` keeps `pulse ingest` at about one core: its host thread is busy the
whole run while the appending parent is done a third of the way in (issue 14, 300,000
events: appends and the raw-zone export end at ~6 s, the host at ~18 s). A Function
App scales out the same way: instances share an event hub's partitions, each partition
owned by one of them, and write the same Cosmos containers. Here the partitions are
dealt round robin (host 0 gets 0, 2, ...; host 1 gets 1, 3, ...), and host 0 alone runs
the change-feed pollers (one lease owner per feed), so the rollups see every host's writes.

Writes from two processes are safe by the store's own rules, the ones Cosmos DB needs
anyway: an aggregate is replaced only if its ETag still matches (else re-read and
retried), an event id is claimed by a create that only one writer wins, and each
partition's checkpoint has one owner. SQLite serialises the two writers on its file lock.

`finish()` ends the ingest-only hosts first, then host 0: its pollers keep reading the
feeds until the others are done, so they drain every change before it ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from shared.runtime.host import HostSettings
from shared.runtime.host_process import HostProcess
from shared.runtime.session import SessionOptions
from shared.runtime.stats import RuntimeStats

__all__ = ["HostPool", "split_partitions"]


def split_partitions(settings: HostSettings, hosts: int, partitions: int) -> list[HostSettings]:
    """`settings` of each host (at most one per partition): partitions round robin, the feeds in the first."""
    if hosts < 1:
        raise ValueError(f"hosts must be >= 1, got {hosts}")
    count = min(hosts, partitions)
    return [
        replace(
            settings,
            partitions=tuple(range(index, partitions, count)),
            feed_containers=settings.feed_containers if index == 0 else (),
        )
        for index in range(count)
    ]


class HostPool:
    """`start`, `stats`, `running`, `finish` and `stop` of `hosts` until-quiet `HostProcess`es sharing a log."""

    def __init__(
        self,
        options: SessionOptions,
        settings: HostSettings,
        clock: Callable[[], datetime],
        *,
        hosts: int,
        until_quiet_s: float,
    ) -> None:
        """Plan the processes (`clock` must pickle, see `HostProcess`); `start` spawns them."""
        self._hosts = [
            HostProcess(options, part, clock, until_quiet_s=until_quiet_s)
            for part in split_partitions(settings, hosts, options.partitions)
        ]

    def __len__(self) -> int:
        return len(self._hosts)

    def start(self) -> None:
        """Spawn every host (from the main thread: see `HostProcess`)."""
        for host in self._hosts:
            host.start()

    def stats(self) -> RuntimeStats:
        """The hosts' counters summed (each at most `PUBLISH_S` old)."""
        total = RuntimeStats()
        for host in self._hosts:
            total = total + host.stats()
        return total

    def each(self) -> list[RuntimeStats]:
        """Each host's counters, host 0 (the feeds' owner) first."""
        return [host.stats() for host in self._hosts]

    @property
    def alive(self) -> int:
        """How many hosts still run."""
        return sum(host.running for host in self._hosts)

    @property
    def running(self) -> bool:
        """True while every host runs (one that stopped early stopped on an error: `finish` raises it)."""
        return all(host.running for host in self._hosts)

    def finish(
        self, on_progress: Callable[[RuntimeStats], None] | None = None, progress_interval_s: float = 0.5
    ) -> RuntimeStats:
        """The input is complete: wait for the ingest-only hosts, then for the one with the feeds; the sum.

        Raises the first host's error as `HostProcess.finish` does (the caller then `stop`s the rest).
        """

        def progress(_: RuntimeStats) -> None:
            if on_progress is not None:
                on_progress(self.stats())

        total = RuntimeStats()
        for host in [*self._hosts[1:], self._hosts[0]]:
            total = total + host.finish(progress, progress_interval_s)
        return total

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop every host still running (their batches in flight finish and are checkpointed)."""
        for host in self._hosts:
            with contextlib.suppress(Exception):
                host.stop(timeout_s=timeout_s)
