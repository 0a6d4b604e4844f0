"""An hour of generated events in delivery order, without holding the hour in memory.

The generator draws an hour source by source and store by store, but sends it in
delivery order, so the whole hour must be drawn before its first event can go
(the last store's first sale may come first). At `--rate-scale 100` an hour is
~900k events: held as dicts, ~1.9 GB. Here each event is serialised as it is
drawn and kept in sorted runs of `RUN_SIZE` events; full runs go to anonymous
temporary files, and `SortedRuns.runs` reads them back lazily for a k-way merge
(`heapq.merge` is stable across its inputs, so ties keep generation order, the
same order as one stable sort of the whole hour). Events due in a later hour
(future order statuses, cost records) wait in `LaterRuns`, spilled the same way.
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterator
from operator import itemgetter
from typing import IO, Final

from shared.topology import SOURCES

__all__ = ["LATER_BUDGET", "RUN_SIZE", "LaterRuns", "Record", "SortedRuns", "delivery_of"]

Record = tuple[int, int, str, str, bytes]
"""(delivery ms, event ms, source, partition key, serialised body): one event ready to send."""

RUN_SIZE: Final = 20_000
"""Events held in memory before a sorted run is written out (~10 MB at the demo's event sizes)."""

LATER_BUDGET: Final = 10_000
"""Events due in later hours held in memory, all hours together; the biggest hours spill beyond it.

At `scale=100` the 4-day order backlog alone is ~1.07 million of them; 40,000 kept the
producer ~10 MiB higher for no speed the benchmarks could see."""

delivery_of: Final = itemgetter(0)
_HEADER: Final = struct.Struct("<qqBHI")  # delivery, event ms, source index, key length, body length
_SOURCE_INDEX: Final[dict[str, int]] = {source: i for i, source in enumerate(SOURCES)}
_BUFFER: Final = 1 << 16
_CHUNK: Final = 1 << 15


class SortedRuns:
    """`add` records in generation order; `runs()` gives sorted runs to merge by delivery time.

    Full runs are appended to one anonymous temporary file (deleted on `close`, or when
    the process ends) and read back with positioned reads, each run on its own.
    """

    def __init__(self, run_size: int = RUN_SIZE) -> None:
        if run_size < 1:
            raise ValueError(f"run_size must be >= 1, got {run_size}")
        self._run_size = run_size
        self._buffer: list[Record] = []
        self._file: IO[bytes] | None = None
        self._segments: list[tuple[int, int]] = []
        self.count = 0
        """Records added so far."""

    def add(self, record: Record) -> None:
        self._buffer.append(record)
        self.count += 1
        if len(self._buffer) >= self._run_size:
            self.spill()

    @property
    def buffered(self) -> int:
        """Records held in memory."""
        return len(self._buffer)

    @property
    def spilled(self) -> int:
        """Runs written to the temporary file."""
        return len(self._segments)

    def runs(self) -> list[Iterator[Record]]:
        """Every run, each in delivery order (ties in the order added), the runs in the order added.

        Call it once, after the last `add`; the runs stay readable until `close`.
        """
        self._buffer.sort(key=delivery_of)  # stable
        last, self._buffer = self._buffer, []
        fd = -1 if self._file is None else self._file.fileno()
        return [_read(fd, start, end) for start, end in self._segments] + [iter(last)]

    def spill(self) -> None:
        """Write the records held in memory out as one sorted run."""
        if not self._buffer:
            return
        self._buffer.sort(key=delivery_of)
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="pulse-gen-", buffering=_BUFFER)  # noqa: SIM115 (kept open)
        file = self._file
        start = file.seek(0, 2)
        write, pack, index = file.write, _HEADER.pack, _SOURCE_INDEX
        for delivery, event_ms, source, key, body in self._buffer:
            encoded = key.encode()
            write(pack(delivery, event_ms, index[source], len(encoded), len(body)))
            write(encoded)
            write(body)
        file.flush()
        self._segments.append((start, file.tell()))
        self._buffer = []

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file, self._segments, self._buffer = None, [], []


def _read(fd: int, start: int, end: int) -> Iterator[Record]:
    """The records of one spilled run (bytes `start`..`end` of the file), chunk by chunk."""
    unpack, size = _HEADER.unpack_from, _HEADER.size
    data, at, position = b"", 0, start
    while True:
        while len(data) - at >= size:
            delivery, event_ms, source, key_length, body_length = unpack(data, at)
            body_at = at + size + key_length
            after = body_at + body_length
            if after > len(data):
                break
            yield delivery, event_ms, SOURCES[source], data[at + size : body_at].decode(), data[body_at:after]
            at = after
        if position >= end:
            return
        chunk = os.pread(fd, min(_CHUNK, end - position), position)
        if not chunk:
            raise OSError(f"a spilled run ended early at byte {position} of {end}")
        position += len(chunk)
        data, at = data[at:] + chunk, 0


class LaterRuns:
    """Events due in later hours, bucketed by delivery hour, at most `budget` of them in memory.

    Records of one hour come back in delivery order, ties in the order added: what a
    heap of (delivery, order added) pops, without holding days of future order
    statuses in memory (at `--rate-scale 100`, millions of them).
    """

    def __init__(self, hour_ms: int, budget: int = LATER_BUDGET) -> None:
        self._hour_ms, self._budget = hour_ms, budget
        self._hours: dict[int, SortedRuns] = {}
        self._buffered = 0

    def add(self, record: Record) -> None:
        hour = record[0] - record[0] % self._hour_ms
        runs = self._hours.get(hour)
        if runs is None:
            runs = self._hours[hour] = SortedRuns(run_size=self._budget + 1)  # spilled here, by size
        runs.add(record)
        self._buffered += 1
        if self._buffered > self._budget:
            for runs in sorted(self._hours.values(), key=lambda r: r.buffered, reverse=True):
                self._buffered -= runs.buffered
                runs.spill()
                if self._buffered <= self._budget // 2:
                    break

    def take(self, hour: int) -> SortedRuns | None:
        """The records due in the hour starting at `hour` (the caller merges its `runs()` and closes it)."""
        runs = self._hours.pop(hour, None)
        if runs is not None:
            self._buffered -= runs.buffered
        return runs

    def close(self) -> None:
        for runs in self._hours.values():
            runs.close()
        self._hours.clear()
