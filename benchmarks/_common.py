"""Shared bits of the benchmarks: timing, progress, the table printer."""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

__all__ = ["Progress", "freeze_inputs", "print_table", "timed"]

T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """Run `fn` once; return its result and the elapsed wall seconds (process is single-threaded)."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


class Progress:
    """A one-line progress indicator on stderr for long runs."""

    def __init__(self, label: str, total: int) -> None:
        self._label, self._total, self._last = label, total, 0.0

    def update(self, done: int) -> None:
        now = time.monotonic()
        if now - self._last >= 0.5 or done >= self._total:
            self._last = now
            sys.stderr.write(f"\r  {self._label}: {done:,}/{self._total:,} ({100 * done / max(1, self._total):.0f}%)")
            sys.stderr.flush()
            if done >= self._total:
                sys.stderr.write("\n")


def print_table(title: str, header: tuple[str, ...], rows: Iterable[tuple[object, ...]]) -> None:
    """A Markdown table on stdout (pasteable into the README)."""
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


def freeze_inputs() -> None:
    """Move everything alive now (the generated input) out of the garbage collector's sight.

    A real host never holds a million events in memory; without this, every full
    collection would walk the input and the figures would measure the benchmark.
    """
    gc.collect()
    gc.freeze()
