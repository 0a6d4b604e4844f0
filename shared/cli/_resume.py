"""Read an input file from where earlier runs stopped appending it (`pulse ingest` after a crash).

The log keeps, per (source, file), how many lines and bytes were appended and the
SHA-256 of those bytes (`InputMark`), written in the same transaction as the messages.
A re-run that finds the same bytes at the start of the file appends only the rest;
a file whose start changed is appended whole (and said so); `again` ignores the mark.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from io import BufferedReader
from itertools import islice
from pathlib import Path

from shared.cli._io import chunks, read_lines
from shared.cli.errors import UsageError
from shared.runtime.local_log import InputMark, LocalLog

__all__ = ["InputReader"]

_BLOCK = 1 << 20


class InputReader:
    """The lines of `path` still to append to `source`'s hub, in chunks with the mark to record."""

    def __init__(self, log: LocalLog, source: str, path: str, *, again: bool = False) -> None:
        self.path = path
        self.identity = None if path == "-" else str(Path(path).resolve())
        self.skipped_lines = 0
        self.note: str | None = None
        self._offset = 0
        self._hash = hashlib.sha256()
        previous = None if self.identity is None else log.input_mark(source, self.identity)
        if previous is None or previous.size == 0:
            return
        if again:
            self.note = f"{path}: sending all lines again (--again; {previous.lines:,} were appended before)"
            return
        prefix = self._prefix_hash(previous.size)
        if prefix is None or prefix.hexdigest() != previous.sha256:
            self.note = f"{path}: changed since an earlier run appended {previous.lines:,} lines; appending it whole"
            return
        self._offset, self._hash, self.skipped_lines = previous.size, prefix, previous.lines
        self.note = f"{path}: resumed at line {previous.lines + 1:,} (earlier runs appended the lines before it)"
        if Path(path).stat().st_size == previous.size:
            self.note += "; nothing left to append"

    def chunks(self, size: int) -> Iterator[tuple[list[bytes], InputMark | None]]:
        """Chunks of at most `size` lines (newlines stripped) with the file's mark after each."""
        if self.identity is None:
            for chunk in chunks(read_lines(self.path), size):
                yield chunk, None
            return
        lines, offset, hasher = self.skipped_lines, self._offset, self._hash
        with self._open() as handle:
            handle.seek(offset)
            while raw := list(islice(handle, size)):
                for line in raw:
                    hasher.update(line)
                    offset += len(line)
                lines += len(raw)
                mark = InputMark(self.identity, lines, offset, hasher.hexdigest())
                yield [line.rstrip(b"\r\n") for line in raw], mark

    def _prefix_hash(self, size: int) -> hashlib._Hash | None:
        hasher, left = hashlib.sha256(), size
        with self._open() as handle:
            while left > 0 and (block := handle.read(min(left, _BLOCK))):
                hasher.update(block)
                left -= len(block)
        return None if left else hasher

    def _open(self) -> BufferedReader:
        try:
            return Path(self.path).open("rb")
        except OSError as exc:
            raise UsageError(f"{self.path}: {exc.strerror}") from None

    def report(self) -> None:
        """Say on stderr what was found of earlier runs (resumed, changed, forced)."""
        if self.note:
            sys.stderr.write(f"pulse ingest: {self.note}\n")
