"""A progress line on stderr: rewritten in place on a terminal, plain lines (at most one per
`every_s` seconds) when stderr is a file or a pipe, so that logs stay readable."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressLine"]


class ProgressLine:
    """`update(text)` often; `done()` once at the end (it prints the last state)."""

    def __init__(self, stream: TextIO | None = None, every_s: float | None = None) -> None:
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._every = every_s if every_s is not None else (0.2 if self._tty else 5.0)
        self._last_at = float("-inf")
        self._pending: str | None = None
        self._shown = False

    def update(self, text: str) -> None:
        at = time.monotonic()
        if at - self._last_at < self._every:
            self._pending = text
            return
        self._last_at, self._pending = at, None
        self._write(text)

    def done(self) -> None:
        if self._pending is not None:
            self._write(self._pending)
            self._pending = None
        if self._tty and self._shown:
            self._stream.write("\n")
            self._stream.flush()

    def _write(self, text: str) -> None:
        self._shown = True
        self._stream.write(f"\r  {text}\033[K" if self._tty else f"  {text}\n")
        self._stream.flush()
