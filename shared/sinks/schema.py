"""Push-dataset schemas as frozen values, checked against Power BI's limits when they are defined.

A definition with more than 75 columns or tables, a duplicate or empty name, an
unknown data type or a string column allowed more than 4,000 characters fails at
import time, naming the table and column. Rows are checked against their table
before they enter the outbox, so a bad row can never block the queue.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from shared.sinks.limits import MAX_COLUMNS, MAX_STRING_CHARS, MAX_TABLES

__all__ = [
    "DATA_TYPES",
    "ColumnSpec",
    "DataType",
    "DatasetMode",
    "DatasetSpec",
    "RetentionPolicy",
    "RowSchemaError",
    "SchemaError",
    "TableSpec",
]

DataType = Literal["Int64", "Double", "Boolean", "DateTime", "String"]
DATA_TYPES: Final[tuple[str, ...]] = ("Int64", "Double", "Boolean", "DateTime", "String")
RetentionPolicy = Literal["None", "basicFIFO"]
DatasetMode = Literal["Push", "PushStreaming", "Streaming"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}\Z")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})\Z")
_INT64 = (-(2**63), 2**63 - 1)


class SchemaError(ValueError):
    """A dataset definition breaks a Power BI limit or rule."""


class RowSchemaError(ValueError):
    """A row does not fit its table: unknown column, wrong type, string too long."""


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column of a push-dataset table."""

    name: str
    data_type: DataType
    max_length: int | None = None
    """String columns only: the longest value allowed (<= 4,000, Power BI's limit per value)."""
    format_string: str | None = None
    description: str = ""
    """Why the column exists; exported to `docs/powerbi/dataset.json`, not sent to Power BI."""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise SchemaError(f"column name {self.name!r} must match {_NAME.pattern}")
        if self.data_type not in DATA_TYPES:
            raise SchemaError(f"column {self.name!r}: unknown data type {self.data_type!r}; use one of {DATA_TYPES}")
        if self.data_type == "String":
            length = MAX_STRING_CHARS if self.max_length is None else self.max_length
            if not 1 <= length <= MAX_STRING_CHARS:
                raise SchemaError(f"column {self.name!r}: max_length must be 1..{MAX_STRING_CHARS}, got {length}")
            object.__setattr__(self, "max_length", length)
        elif self.max_length is not None:
            raise SchemaError(f"column {self.name!r}: max_length applies to String columns only")

    def check(self, value: Any) -> None:
        """RowSchemaError unless `value` fits this column (None is always allowed: a blank)."""
        if value is None:
            return
        kind = self.data_type
        if kind == "String":
            if not isinstance(value, str):
                raise RowSchemaError(f"{self.name}: expected a string, got {type(value).__name__}")
            if self.max_length is not None and len(value) > self.max_length:
                raise RowSchemaError(f"{self.name}: {len(value)} characters, at most {self.max_length} allowed")
        elif kind == "Int64":
            if isinstance(value, bool) or not isinstance(value, int) or not _INT64[0] <= value <= _INT64[1]:
                raise RowSchemaError(f"{self.name}: expected a 64-bit integer, got {value!r}")
        elif kind == "Double":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise RowSchemaError(f"{self.name}: expected a number, got {type(value).__name__}")
        elif kind == "Boolean":
            if not isinstance(value, bool):
                raise RowSchemaError(f"{self.name}: expected true/false, got {value!r}")
        elif not isinstance(value, str) or not _DATETIME.match(value):
            raise RowSchemaError(f"{self.name}: expected an RFC 3339 timestamp with offset, got {value!r}")

    def to_rest(self) -> dict[str, Any]:
        """The column as the REST API's `Column` object."""
        out: dict[str, Any] = {"name": self.name, "dataType": self.data_type}
        if self.format_string:
            out["formatString"] = self.format_string
        return out


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A table: its name, columns (<= 75, unique names) and a line on what it is for."""

    name: str
    columns: tuple[ColumnSpec, ...]
    description: str = ""
    measures: tuple[tuple[str, str], ...] = ()
    """(name, DAX expression) created with the table: the REST API's `Measure` objects."""
    _by_name: Mapping[str, ColumnSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise SchemaError(f"table name {self.name!r} must match {_NAME.pattern}")
        if not self.columns:
            raise SchemaError(f"table {self.name!r} has no columns")
        if len(self.columns) > MAX_COLUMNS:
            raise SchemaError(f"table {self.name!r} has {len(self.columns)} columns; Power BI allows {MAX_COLUMNS}")
        by_name: dict[str, ColumnSpec] = {}
        for column in self.columns:
            if column.name.lower() in {n.lower() for n in by_name}:
                raise SchemaError(f"table {self.name!r}: column {column.name!r} appears twice (names ignore case)")
            by_name[column.name] = column
        object.__setattr__(self, "_by_name", by_name)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Column names in definition order."""
        return tuple(c.name for c in self.columns)

    def check_row(self, row: Mapping[str, Any]) -> None:
        """RowSchemaError naming the table and column unless every value fits its column."""
        for name, value in row.items():
            column = self._by_name.get(name)
            if column is None:
                raise RowSchemaError(f"table {self.name!r} has no column {name!r}")
            try:
                column.check(value)
            except RowSchemaError as error:
                raise RowSchemaError(f"table {self.name!r}: {error}") from None

    def to_rest(self) -> dict[str, Any]:
        """The table as the REST API's `Table` object (with its measures, if any)."""
        out: dict[str, Any] = {"name": self.name, "columns": [c.to_rest() for c in self.columns]}
        if self.measures:
            out["measures"] = [{"name": name, "expression": dax} for name, dax in self.measures]
        return out


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    """A push dataset: name, tables (<= 75), mode and the retention policy of all its tables."""

    name: str
    tables: tuple[TableSpec, ...]
    default_mode: DatasetMode = "Push"
    retention: RetentionPolicy = "None"
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 256:
            raise SchemaError("a dataset name must be 1..256 characters")
        if not self.tables or len(self.tables) > MAX_TABLES:
            raise SchemaError(f"dataset {self.name!r} must have 1..{MAX_TABLES} tables, got {len(self.tables)}")
        names = [t.name.lower() for t in self.tables]
        if len(set(names)) != len(names):
            raise SchemaError(f"dataset {self.name!r} has two tables of the same name")
        if self.retention not in ("None", "basicFIFO"):
            raise SchemaError(f"dataset {self.name!r}: retention must be 'None' or 'basicFIFO'")

    def table(self, name: str) -> TableSpec:
        """The table called `name` (KeyError if absent)."""
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(f"dataset {self.name!r} has no table {name!r}")

    def create_query(self) -> str:
        """Query string of the create request: the retention policy, for push datasets only (streaming keeps none)."""
        return "" if self.default_mode == "Streaming" else f"?defaultRetentionPolicy={self.retention}"

    def to_rest(self) -> dict[str, Any]:
        """The body of ``POST /v1.0/myorg/groups/{groupId}/datasets`` (retention goes in the query string)."""
        return {"name": self.name, "defaultMode": self.default_mode, "tables": [t.to_rest() for t in self.tables]}
