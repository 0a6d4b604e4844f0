"""`pulse generate`: a seeded, realistic stream of raw event bodies as JSON Lines."""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from shared.cli._io import parse_timestamp
from shared.cli.errors import UsageError
from shared.generator import GENERATOR_SOURCES, FaultRates, generate, parse_faults
from shared.generator.placement import start_ending_at
from shared.reference import ReferenceData, ReferenceDataError, load_reference

__all__ = ["register", "run"]

PROGRESS_FROM = 100_000
"""Counts at least this large report progress on stderr."""
_FLUSH_LINES = 4096


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text}")
    return value


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 1000: {text}")
    return value


def register(subparsers: Any) -> None:
    """Add the `generate` sub-command."""
    parser = subparsers.add_parser(
        "generate",
        help="write a realistic, seeded event stream as JSON Lines",
        description=(
            "Write COUNT raw event bodies of SRC (one of the seven sources, or 'all' for the whole chain) "
            "as JSON Lines, in the order a producer would send them. Same arguments, same seed and same "
            "--start give byte-identical output. Without --start the stream is placed in the past so that "
            "its last event is just before now (`pulse ingest` with its defaults then accepts every event "
            "but the injected faults); pass --start for output that is reproducible on another day."
        ),
    )
    parser.add_argument(
        "--source",
        required=True,
        choices=GENERATOR_SOURCES,
        metavar="SRC",
        help=f"one of {', '.join(GENERATOR_SOURCES)}",
    )
    parser.add_argument("--count", required=True, type=_count, metavar="N", help="lines to write (faults included)")
    parser.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed (default 0, like the demo)")
    parser.add_argument(
        "--faults",
        default="",
        metavar="K=V,...",
        help="fault rates 0..1: duplicate, out_of_order, late, malformed (e.g. duplicate=0.02,late=0.01)",
    )
    parser.add_argument("--out", type=Path, metavar="FILE", help="output file (default: stdout)")
    parser.add_argument(
        "--start", metavar="RFC3339", help="first event time, with offset (default: so that the last event is at now)"
    )
    parser.add_argument(
        "--reference",
        type=Path,
        metavar="DIR",
        help="reference data folder (stores.csv, products.csv, fx_rates.csv; default: the demo set)",
    )
    parser.add_argument(
        "--scale",
        type=_scale,
        default=1.0,
        metavar="X",
        help="volume multiplier for shoppers and platform load (default 1: a 60-store chain)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate and write; UsageError for unusable arguments or files."""
    try:
        faults = parse_faults(args.faults)
    except ValueError as exc:
        raise UsageError(f"--faults: {exc}") from None
    reference = None
    if args.reference is not None:
        try:
            reference = load_reference(args.reference)
        except ReferenceDataError as exc:
            raise UsageError(f"--reference: {exc}") from None
    try:
        start = _start(args, faults, reference)
        events = generate(args.source, args.count, args.seed, start, faults, reference, args.scale)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.out is None:
        return _write(events, sys.stdout.buffer, args.count)
    try:
        handle = args.out.open("wb")
    except OSError as exc:
        raise UsageError(f"--out: cannot write {args.out}: {exc.strerror or exc}") from None
    with handle:
        return _write(events, handle, args.count)


def _start(args: argparse.Namespace, faults: FaultRates, reference: ReferenceData | None) -> datetime:
    if args.start is not None:
        return parse_timestamp("--start", args.start)
    return start_ending_at(datetime.now(UTC), args.source, args.count, args.seed, faults, reference, args.scale)


def _write(events: Any, out: IO[bytes], count: int) -> int:
    progress = _Progress(count) if count >= PROGRESS_FROM else None
    batch: list[bytes] = []
    written = 0
    try:
        for event in events:
            batch.append(event.body)
            if len(batch) >= _FLUSH_LINES:
                out.write(b"\n".join(batch) + b"\n")
                written += len(batch)
                batch.clear()
                if progress:
                    progress.update(written)
        if batch:
            out.write(b"\n".join(batch) + b"\n")
            written += len(batch)
        out.flush()
    except BrokenPipeError:  # e.g. `pulse generate ... | head`: the reader has all it wants
        if out is sys.stdout.buffer:  # so that the interpreter's final flush does not complain
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if progress:
        progress.done(written)
    return 0


class _Progress:
    """One line on stderr: rewritten in place on a terminal, printed once at the end otherwise."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.started = time.perf_counter()
        self.shown = self.started
        self.tty = sys.stderr.isatty()

    def update(self, written: int) -> None:
        now = time.perf_counter()
        if self.tty and now - self.shown >= 0.5:
            self.shown = now
            print(f"\r{self._line(written, now)}", end="", file=sys.stderr, flush=True)

    def done(self, written: int) -> None:
        line = self._line(written, time.perf_counter())
        print(f"\r{line}" if self.tty else line, file=sys.stderr, flush=True)

    def _line(self, written: int, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        return f"pulse generate: {written:,}/{self.total:,} events, {elapsed:.1f} s, {written / elapsed:,.0f} events/s"
