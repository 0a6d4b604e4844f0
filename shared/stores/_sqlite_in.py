"""IN lists of a few fixed lengths, so a connection prepares a few statements, not one per length.

Python's `sqlite3` keeps a cache of prepared statements per connection (128 by
default) keyed by the SQL text. An ``IN (?, ?, ...)`` list as long as each chunk of
keys makes a new text for every length from 1 to `IN_LIST_MAX`: in a 5,000 ev/s run the
host process executed 280 distinct texts in its first 30 s and 382 by 120 s (309 of
them such lists), so its caches were full and every new length compiled a statement
of up to 500 parameters and evicted another, for as long as the process ran. A list
padded to the next of `IN_SIZES` by repeating its last value selects the same rows
(``IN`` is a set test) with ten texts per statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Final, TypeVar

__all__ = ["IN_LIST_MAX", "IN_SIZES", "in_list"]

IN_LIST_MAX: Final = 500
"""Values per statement at most, well under SQLite's variable limit."""
IN_SIZES: Final = (1, 2, 4, 8, 16, 32, 64, 128, 256, IN_LIST_MAX)

_T = TypeVar("_T")


def in_list(values: Sequence[_T]) -> tuple[str, list[_T]]:
    """The placeholders and the values of ``IN (...)`` for 1 to `IN_LIST_MAX` values, padded to one of `IN_SIZES`."""
    count = len(values)
    if not 0 < count <= IN_LIST_MAX:
        raise ValueError(f"an IN list holds 1 to {IN_LIST_MAX} values, got {count}")
    size = _padded_size(count)
    return _marks(size), [*values, *([values[-1]] * (size - count))]


def _padded_size(count: int) -> int:
    return next(size for size in IN_SIZES if size >= count)


@cache
def _marks(size: int) -> str:
    return ",".join("?" * size)
