"""Cut a run of rows into requests that respect rows-per-request and bytes-per-request limits.

Rows are serialised once (compact JSON, Decimals as exact numbers) and a request
body is the sink's envelope plus the rows joined by one separator byte, so the size
of a request is known before it is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import orjson

from shared.sinks.limits import SinkLimits
from shared.sinks.port import Row

__all__ = ["RowTooLarge", "json_rows", "request_bytes", "row_json", "take_request"]


class RowTooLarge(ValueError):
    """A single row is larger than a whole request may be."""


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def row_json(row: Row) -> bytes:
    """One row as compact JSON (UTF-8)."""
    return orjson.dumps(dict(row), default=_default)


def json_rows(encoded: Sequence[bytes]) -> bytes:
    """Encoded rows as one JSON array."""
    return b"[" + b",".join(encoded) + b"]"


def request_bytes(envelope: int, sizes: Sequence[int]) -> int:
    """Body size of a request of rows of `sizes` bytes: envelope + rows + separators."""
    return envelope + sum(sizes) + max(len(sizes) - 1, 0)


def take_request(sizes: Sequence[int], limits: SinkLimits, envelope: int) -> int:
    """How many leading rows (of JSON sizes `sizes`) make the next request: >= 1 unless `sizes` is empty.

    Raises `RowTooLarge` when the first row alone cannot fit a request.
    """
    if not sizes:
        return 0
    budget = limits.max_request_bytes
    if budget is not None and envelope + sizes[0] > budget:
        raise RowTooLarge(f"a row of {sizes[0]} bytes cannot fit a request of at most {budget} bytes")
    count, used = 0, envelope
    for size in sizes[: limits.max_rows_per_request]:
        extra = size + (1 if count else 0)
        if budget is not None and used + extra > budget:
            break
        count, used = count + 1, used + extra
    return count
