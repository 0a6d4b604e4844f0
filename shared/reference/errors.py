"""The one error a reference-data load raises: it names the file, line and column."""

from __future__ import annotations

__all__ = ["ReferenceDataError"]


class ReferenceDataError(ValueError):
    """A reference file is missing or malformed.

    The message reads ``stores.csv line 14, column timezone: unknown IANA time zone
    'Europe/Atlantis'``; the parts are also attributes so callers can point at the cell.
    """

    def __init__(self, file: str, message: str, line: int | None = None, column: str | None = None) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.reason = message
        where = file
        if line is not None:
            where += f" line {line}"
        if column is not None:
            where += f", column {column}" if line is not None else f" column {column}"
        super().__init__(f"{where}: {message}")
