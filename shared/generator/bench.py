"""Benchmark: ``python -m shared.generator.bench [COUNT] [SOURCE]`` prints events/s.

Generates COUNT (default 1,000,000) `txn` events into memory (bodies serialised,
nothing written) and reports wall-clock and CPU throughput on one core.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from shared.generator import demo_reference, generate

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    count = int(args[0]) if args else 1_000_000
    source = args[1] if len(args) > 1 else "txn"
    demo_reference()  # load the reference set outside the timing
    start = datetime(2026, 11, 23, tzinfo=UTC)
    wall, cpu = time.perf_counter(), time.process_time()
    size = 0
    for event in generate(source, count, seed=1, start=start):
        size += len(event.body)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"generator: {count:,} {source} events in {wall:.2f} s = {count / wall:,.0f} events/s "
        f"(CPU {count / cpu:,.0f} events/s, {size / count:.0f} bytes/event)"
    )


if __name__ == "__main__":
    main()
