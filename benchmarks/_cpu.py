"""CPU seconds per thread of this process and per helper process, read from /proc (Linux).

The runtime's host thread does ingest and rollups one batch after another: when it
is busy all the time, events wait, so its share of the run is the first figure to
read beside a latency. It runs in a process of its own (`shared.runtime.host_process`),
named here by its process and thread ids. The other threads (the host process's SQLite
checkpoints; snapshot, alerts, web in the runtime's main process) and the producer and
reader processes share the second core with it.

The machine's side (`machine_sample`, `machine_shares`): every core's busy and stolen
time and the store's disk, so that a slow minute can be told from a busy neighbour
(another process, the hypervisor, or a disk that is busy all the time).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks._rss import tree_pids

__all__ = ["CpuSample", "MachineSample", "MachineShares", "cpu_sample", "disk_of", "machine_sample", "machine_shares"]

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class CpuSample:
    """CPU seconds so far, by thread name (this process) and by process name; `wall`: when (or over how long)."""

    threads: dict[str, float] = field(default_factory=dict)
    processes: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0

    def share(self, seconds: float) -> float:
        """`seconds` of CPU as a percentage of one core over `wall`."""
        return 100.0 * seconds / self.wall if self.wall > 0 else 0.0

    def after(self, earlier: CpuSample) -> CpuSample:
        """This sample, with what `earlier` saw of a thread or process that has ended since."""
        return CpuSample({**earlier.threads, **self.threads}, {**earlier.processes, **self.processes}, self.wall)

    def since(self, start: CpuSample) -> CpuSample:
        """The CPU seconds spent between `start` and this sample."""
        return CpuSample(
            {name: s - start.threads.get(name, 0.0) for name, s in self.threads.items()},
            {name: s - start.processes.get(name, 0.0) for name, s in self.processes.items()},
            self.wall - start.wall,
        )


def _seconds(stat: Path) -> float | None:
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None  # ended in between
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14 and 15 of stat)


def cpu_sample(
    processes: dict[str, int | None], tasks: dict[str, tuple[int | None, int | None]] | None = None
) -> CpuSample:
    """CPU seconds of every live thread of this process (threads of one name summed) and of live `processes`.

    `tasks` names threads of other processes, (process id, thread id): counted among the threads.
    A zombie process (ended, not yet joined) still has a stat; one that is gone is left out,
    so sample during the run (`CpuSample.after`) to keep what it had spent.
    """
    threads: dict[str, float] = {}
    for thread in threading.enumerate():
        if thread.native_id is None:
            continue
        name = thread.name.split(" (")[0].rstrip("0123456789_-")  # "pulse-web-snapshot_0", "Thread-12 (...)"
        seconds = _seconds(Path(f"/proc/self/task/{thread.native_id}/stat"))
        if seconds is not None:
            threads[name] = threads.get(name, 0.0) + seconds
    for name, (pid, tid) in (tasks or {}).items():
        seconds = None if pid is None or tid is None else _seconds(Path(f"/proc/{pid}/task/{tid}/stat"))
        if seconds is not None:
            threads[name] = threads.get(name, 0.0) + seconds
    found = {name: _seconds(Path(f"/proc/{pid}/stat")) for name, pid in processes.items() if pid is not None}
    return CpuSample(threads, {name: s for name, s in found.items() if s is not None}, time.monotonic())


@dataclass(frozen=True, slots=True)
class MachineSample:
    """CPU seconds of the whole machine so far (every core, `/proc/stat`) and of this process's tree.

    `busy`: user, nice, system, irq and softirq time; `steal`: time the hypervisor gave
    another guest while this one wanted to run; `total`: every kind, idle and iowait
    included (cores x wall time). `ours`: CPU seconds of this process and each descendant
    alive now, by process id (one that ends between two samples loses what it spent
    between them: sample often, and sum the intervals with `machine_shares`).
    """

    busy: float
    steal: float
    total: float
    ours: dict[int, float]
    disk: tuple[float, float] | None = None
    """(seconds the run folder's disk was busy with I/O, MiB written to it) so far; None if not found."""
    wall: float = 0.0
    """`time.monotonic()` when taken: the disk's shares are over wall time, not over the cores' ticks."""


@dataclass(frozen=True, slots=True)
class MachineShares:
    """Shares of all the machine's cores over a window, in %: this benchmark, other processes, stolen."""

    ours: float
    others: float
    stolen: float
    disk_busy: float | None = None
    """% of the window the disk had I/O in flight (`/proc/diskstats` io_ticks): near 100 %, writes wait."""
    disk_mib_s: float | None = None
    """MiB/s written to the disk (every process's writes, SQLite's WAL and checkpoints among them)."""


def disk_of(path: Path) -> tuple[int, int]:
    """(major, minor) of the block device that holds `path`."""
    device = path.stat().st_dev
    return os.major(device), os.minor(device)


def machine_sample(pid: int | None = None, disk: tuple[int, int] | None = None) -> MachineSample:
    """The machine's CPU counters now, with the CPU seconds of `pid`'s tree (default: this process)
    and, with `disk` (see `disk_of`), that device's I/O counters."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq
    ours = {p: _seconds(Path(f"/proc/{p}/stat")) for p in tree_pids(pid)}
    total = busy + idle + iowait + steal
    found = {p: s for p, s in ours.items() if s is not None}
    io = None if disk is None else _disk(disk)
    return MachineSample(busy / _TICK, steal / _TICK, total / _TICK, found, io, time.monotonic())


def _disk(device: tuple[int, int]) -> tuple[float, float] | None:
    for line in Path("/proc/diskstats").read_text().splitlines():
        fields = line.split()
        if (int(fields[0]), int(fields[1])) == device:  # fields 10 and 13 of a device: sectors written, io_ticks
            return int(fields[12]) / 1000, int(fields[9]) * 512 / 2**20
    return None


def machine_shares(samples: list[MachineSample]) -> MachineShares | None:
    """The shares over consecutive `samples` (interval by interval); None with fewer than two."""
    busy = steal = total = ours = 0.0
    for before, after in itertools.pairwise(samples):
        busy += after.busy - before.busy
        steal += after.steal - before.steal
        total += after.total - before.total
        ours += sum(max(0.0, s - before.ours.get(p, s)) for p, s in after.ours.items())
    if total <= 0:
        return None
    shares = MachineShares(100 * ours / total, 100 * max(0.0, busy - ours) / total, 100 * steal / total)
    first, last = samples[0].disk, samples[-1].disk
    if first is None or last is None:
        return shares
    wall = samples[-1].wall - samples[0].wall
    if wall <= 0:
        return shares
    return dataclasses.replace(
        shares, disk_busy=100 * (last[0] - first[0]) / wall, disk_mib_s=(last[1] - first[1]) / wall
    )
