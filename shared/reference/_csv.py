"""Reading one reference CSV file and parsing its cells, with file/line/column errors."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.reference.errors import ReferenceDataError
from shared.timestamps import RFC3339, parse_rfc3339

__all__ = ["Cell", "read_rows"]

_NO_OFFSET: Final = re.compile(r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_HHMM: Final = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")
_DECIMAL: Final = re.compile(r"-?\d+(?:\.(\d+))?")
_UPPER2: Final = re.compile(r"[A-Z]{2}")
_UPPER3: Final = re.compile(r"[A-Z]{3}")
MAX_TEXT: Final = 128


class Cell:
    """One cell's value and position; its parsers raise `ReferenceDataError` naming both."""

    __slots__ = ("column", "file", "line", "value")

    def __init__(self, file: str, line: int, column: str, value: str) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.value = value

    def error(self, message: str) -> ReferenceDataError:
        return ReferenceDataError(self.file, message, self.line, self.column)

    def text(self, max_length: int = MAX_TEXT) -> str:
        """A required, non-empty string."""
        if not self.value:
            raise self.error("required value is empty")
        if len(self.value) > max_length:
            raise self.error(f"longer than {max_length} characters")
        return self.value

    def optional_text(self, max_length: int = MAX_TEXT) -> str | None:
        return self.text(max_length) if self.value else None

    def timestamp(self) -> datetime:
        """An RFC 3339 timestamp with an offset, returned in UTC."""
        value = self.value
        if not value:
            raise self.error("required timestamp is empty")
        if RFC3339.fullmatch(value) is None:
            if _NO_OFFSET.fullmatch(value):
                raise self.error(f"timestamp without offset {value!r} (use e.g. 2026-01-01T00:00:00Z)")
            raise self.error(f"not an RFC 3339 timestamp {value!r}")
        try:
            return parse_rfc3339(value)
        except ValueError as exc:
            raise self.error(str(exc)) from None

    def optional_timestamp(self) -> datetime | None:
        return self.timestamp() if self.value else None

    def date(self) -> date:
        """A calendar date YYYY-MM-DD."""
        if _DATE.fullmatch(self.value) is None:
            raise self.error(f"not a date YYYY-MM-DD {self.value!r}")
        try:
            return date.fromisoformat(self.value)
        except ValueError as exc:
            raise self.error(f"invalid date {self.value!r}: {exc}") from None

    def time_of_day(self) -> time:
        """A local time HH:MM."""
        if _HHMM.fullmatch(self.value) is None:
            raise self.error(f"not a time HH:MM {self.value!r}")
        return time.fromisoformat(self.value)

    def decimal(self, places: int, positive: bool = False) -> Decimal:
        """A non-negative (or positive) plain decimal number with at most `places` decimals."""
        match = _DECIMAL.fullmatch(self.value)
        if match is None:
            raise self.error(f"not a decimal number {self.value!r}")
        fraction = match.group(1)
        if fraction is not None and len(fraction) > places:
            raise self.error(f"at most {places} decimals allowed, got {self.value!r}")
        amount = Decimal(self.value)
        if amount < 0 or (positive and amount == 0):
            raise self.error(f"must be {'positive' if positive else 'zero or more'}, got {self.value!r}")
        return amount

    def positive_int(self) -> int:
        if not self.value.isdigit() or int(self.value) == 0:
            raise self.error(f"not a positive integer {self.value!r}")
        return int(self.value)

    def country(self) -> str:
        if _UPPER2.fullmatch(self.value) is None:
            raise self.error(f"not an ISO 3166 country code (2 capital letters) {self.value!r}")
        return self.value

    def currency(self) -> str:
        if _UPPER3.fullmatch(self.value) is None:
            raise self.error(f"not an ISO 4217 currency code (3 capital letters) {self.value!r}")
        return self.value

    def time_zone(self) -> str:
        """An IANA time zone name known to zoneinfo."""
        name = self.text()
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise self.error(f"unknown IANA time zone {name!r}") from None
        return name

    def choice(self, allowed: tuple[str, ...]) -> str:
        if self.value not in allowed:
            raise self.error(f"{self.value!r} is not one of {', '.join(allowed)}")
        return self.value


Row = dict[str, Cell]


def read_rows(folder: Path, file: str, required: tuple[str, ...]) -> Iterator[tuple[int, Row]]:
    """(line number, cells by column) for each data row of `folder/file`.

    UTF-8 (a BOM is tolerated), a header row naming at least the `required`
    columns (unknown extra columns are ignored), values stripped of surrounding
    blanks, blank lines skipped.
    """
    path = folder / file
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ReferenceDataError(file, f"file not found in {folder}") from None
    except OSError as exc:
        raise ReferenceDataError(file, f"cannot be read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ReferenceDataError(file, f"not valid UTF-8 (byte {exc.start})", line) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ReferenceDataError(file, "empty file, expected a header row", 1) from None
    header = [name.strip() for name in header]
    for index, name in enumerate(header):
        if name in header[:index]:
            raise ReferenceDataError(file, "column named twice in the header", 1, name)
    for name in required:
        if name not in header:
            raise ReferenceDataError(file, "required column missing from the header", 1, name)
    start = reader.line_num + 1  # the line a record starts on (a quoted field may run over several)
    try:
        for row in reader:
            line, start = start, reader.line_num + 1
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if any("\n" in value or "\r" in value for value in row):
                raise ReferenceDataError(file, "a quoted field opened on this line is not closed on it", line)
            if len(row) != len(header):
                raise ReferenceDataError(file, f"expected {len(header)} fields, found {len(row)}", line)
            yield line, {name: Cell(file, line, name, value.strip()) for name, value in zip(header, row, strict=True)}
    except csv.Error as exc:
        raise ReferenceDataError(file, f"malformed CSV: {exc}", start) from None
