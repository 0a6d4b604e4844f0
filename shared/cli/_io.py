"""Helpers shared by the sub-commands: reading JSON Lines input, parsing times, printing JSON."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from shared.cli.errors import UsageError
from shared.timestamps import parse_rfc3339
from shared.topology import SOURCES, Source

__all__ = ["ProgressLine", "chunks", "parse_now", "parse_source", "parse_timestamp", "print_json", "read_lines"]


def parse_source(value: str) -> Source:
    """A source name of the contract, or a usage error listing them."""
    if value not in SOURCES:
        raise UsageError(f"unknown source {value!r} (expected one of: {', '.join(SOURCES)})")
    return value


def parse_timestamp(option: str, value: str) -> datetime:
    """The RFC 3339 value of `option` (with an offset) as an aware UTC datetime; UsageError otherwise."""
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc} (e.g. 2026-11-26T08:00:00Z)") from None


def parse_now(value: str | None) -> datetime:
    """`--now` as an aware datetime; the clock when absent (only the CLI reads it)."""
    return datetime.now(UTC) if value is None else parse_timestamp("--now", value)


def read_lines(path: str) -> Iterator[bytes]:
    """Yield the lines of a JSON Lines file as raw bytes (a blank line is an empty body)."""
    file = Path(path)
    if path != "-" and not file.is_file():
        raise UsageError(f"{path}: no such file")
    try:
        handle = sys.stdin.buffer if path == "-" else file.open("rb")
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from None
    with handle:
        for line in handle:
            yield line.rstrip(b"\r\n")


def print_json(summary: dict[str, Any]) -> None:
    """Print a summary as indented JSON on stdout."""
    sys.stdout.buffer.write(orjson.dumps(summary, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def chunks(items: Iterable[bytes], size: int) -> Iterator[list[bytes]]:
    """Consecutive lists of at most `size` items (itertools.batched arrives with Python 3.12)."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class ProgressLine:
    """A progress line on stderr: rewritten in place (``\\r``) on a terminal; in a log, a plain line every 10 s."""

    def __init__(self, label: str, every_s: float = 10.0) -> None:
        self._label, self._every_s = label, every_s
        self._tty = sys.stderr.isatty()
        self._shown = float("-inf")
        self._last = ""

    def show(self, text: str) -> None:
        self._last = text
        now = time.monotonic()
        if now - self._shown < (0.2 if self._tty else self._every_s):
            return
        self._shown = now
        sys.stderr.write(f"\r  {self._label}: {text}\x1b[K" if self._tty else f"  {self._label}: {text}\n")
        sys.stderr.flush()

    def done(self) -> None:
        """End the line on a terminal; in a log, the final figures once."""
        if self._tty:
            sys.stderr.write("\n")
        elif self._last:
            sys.stderr.write(f"  {self._label}: {self._last}\n")
        sys.stderr.flush()
