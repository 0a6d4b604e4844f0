"""How `pulse demo` starts on a new file: it fast-forwards the current business day, and says when stores are closed.

Fast-forward: the stream's origin is the start of the chain's business day (the
earliest local midnight among the stores' zones), while the simulated clock starts
at now (or ``--start``). The producer therefore finds every event of the day so far
due at once and appends it to the local log in large runs; the host ingests and rolls
it up through the same handlers as any other event. A progress line shows how far
the day has come; the simulated clock waits at its start meanwhile, and once the log is
consumed, the demo continues in real time from there.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from shared.cli._progress import ProgressLine
from shared.engine.windows import epoch_ms
from shared.reference import ReferenceData
from shared.reference.trading import daytime_example, trading_status
from shared.runtime.stats import RuntimeStats

__all__ = ["CatchUp", "announce_hours"]


class _Producer(Protocol):
    sent: int

    @property
    def next_delivery_ms(self) -> int | None: ...


class _Host(Protocol):
    @property
    def quiet(self) -> bool: ...

    def stats(self) -> RuntimeStats: ...


class CatchUp:
    """The fast-forward: what to send (the day up to the clock at start), its progress line, and its end.

    While it runs, the producer sends only events due by `target` (the clock when the demo
    started); it ends when those are sent, ingested and rolled up (the host's rounds find
    nothing to do and its counts stand still for half a second: a slow round on a busy
    machine is not mistaken for the end), and the demo then continues in real time from there.
    """

    def __init__(self, origin: datetime, target: datetime, host: _Host) -> None:
        self.target = target
        self._origin, self._host = origin, host
        self._began = time.monotonic()
        self._line = ProgressLine()
        self._seen: tuple[int, int] = (-1, -1)
        self._still_since = float("inf")

    def show(self, producer: _Producer) -> bool:
        """Refresh the line; True (and a closing line) once the day so far is in the pipeline."""
        due = producer.next_delivery_ms
        stats = self._host.stats()
        if due is not None and due <= epoch_ms(self.target):
            reached = datetime.fromtimestamp(due / 1000, UTC)
            self._line.update(
                f"fast-forward: today from {self._origin:%H:%M} UTC: events up to {reached:%H:%M} UTC sent "
                f"({producer.sent:,}), {stats.received:,} ingested"
            )
            return False
        seen, mono = (stats.received, stats.rollup_documents_written), time.monotonic()
        if seen != self._seen or stats.received < producer.sent or not self._host.quiet:
            self._seen, self._still_since = seen, mono
            sent, received = producer.sent, stats.received
            self._line.update(f"fast-forward: today's {sent:,} events sent, {received:,} ingested, rolling up")
            return False
        if mono - self._still_since < 0.5:
            return False
        self._line.done()
        sys.stderr.write(
            f"fast-forward: the business day so far ({producer.sent:,} events since {self._origin:%Y-%m-%d %H:%M} UTC)"
            f" in {mono - self._began:.1f} s; now live\n"
        )
        sys.stderr.flush()
        return True


def announce_hours(reference: ReferenceData, now: datetime, db: Path) -> None:
    """When every physical store is closed: say so, name the next openings, and suggest a daytime ``--start``."""
    status = trading_status(reference, now)
    if not status.all_closed:
        return
    openings = ", ".join(f"{o.region} {o.local:%a %H:%M}" for o in status.next_openings)
    example = daytime_example(reference, now).strftime("%Y-%m-%dT%H:%M:%SZ")
    day_db = db.with_name(f"{db.stem}-day{db.suffix}")
    sys.stderr.write(
        f"All {status.physical_stores} stores are closed at this hour ({now:%H:%M} UTC); the web and app shops keep "
        f"trading. Next openings (local time): {openings}.\n"
        f'For a chain in full swing: make demo ARGS="--db {day_db} --start {example}"'
        f" (or pulse demo --db {day_db} --start {example})\n"
    )
    sys.stderr.flush()
