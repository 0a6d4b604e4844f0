"""The embedded store's field indexes: a few fields of a container kept in one indexed column.

Cosmos DB indexes every path, so a query on ``scope``, ``grain`` and a ``window`` range
is served by its index. SQLite's ``json_extract`` filter is not: it parses every
document of the container, and the alert rules read rollup windows that way every
cycle (with a day of minute documents, seconds a cycle, growing all day: issue 14).
For the containers in `FIELD_INDEXES`, each document also keeps its values of those
fields in the ``ix`` column of ``docs``, joined by `SEP`, with an index on
``(container, ix)``. A query that fixes every field but the last by equality and
the last by equality or a range reads that index range; its ``json_extract``
filters still apply, so the index only narrows what is read, never decides a match.

What a document's ``ix`` holds, so that no document a filter matches is left out:

- a field missing or null: NULL (not in the index). An equality or a range with a
  bound never matches SQL NULL, and the index is used only when every field is so constrained;
- a value that is not a string (a number sorts before any text in SQLite, an object
  compares as its JSON text): `UNINDEXED`. While a container holds such a document its queries do not use the
  index (the store checks with one index probe, in the query's snapshot); none of
  the pipeline's documents is one;
- otherwise the values joined by `SEP`. Strings compare as SQLite compares them (byte
  by byte in UTF-8), so a document that matches (its first values equal the query's,
  its last in the range) has its ``ix`` in the range of the query's values joined the
  same way. A value holding `SEP` may bring others into that range; the filters drop them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from shared.stores.port import Document, Scalar

__all__ = ["FIELD_INDEXES", "SEP", "UNINDEXED", "UNINDEXED_PROBE", "index_clause", "index_value"]

FIELD_INDEXES: Final[Mapping[str, tuple[str, ...]]] = {
    "rollups": ("scope", "grain", "window"),  # the alert rules' and `kpi_rows`' window reads
    "views": ("view", "window"),  # the health tiles' and SLOs' flow documents of recent minutes
}
SEP: Final = "\x1f"
UNINDEXED: Final = ""
"""``ix`` of a document whose values cannot be placed in the order."""
UNINDEXED_PROBE: Final = "SELECT 1 FROM docs WHERE container = ? AND ix = ? LIMIT 1"
"""Whether a container holds an `UNINDEXED` document (then its queries scan)."""


def index_value(container: str, body: Document) -> str | None:
    """The ``ix`` column of `body` in `container` (None: the container has no field index, or a field is absent)."""
    fields = FIELD_INDEXES.get(container)
    if fields is None:
        return None
    values = [body.get(name) for name in fields]
    if any(value is None for value in values):
        return None
    if not all(isinstance(value, str) for value in values):
        return UNINDEXED
    return SEP.join(values)  # type: ignore[arg-type]  # all str, checked above


def index_clause(
    container: str,
    where: Mapping[str, Scalar],
    where_range: Mapping[str, tuple[Scalar | None, Scalar | None]],
) -> tuple[str, list[str]] | None:
    """A condition on ``ix`` implied by the filters (to be added to them), or None when they do not fix the fields."""
    fields = FIELD_INDEXES.get(container)
    if fields is None:
        return None
    *head, last = fields
    values = [where.get(name) for name in head]
    if not all(isinstance(value, str) for value in values):
        return None
    prefix = "".join(f"{value}{SEP}" for value in values)
    if last in where:
        value = where[last]
        if not isinstance(value, str):
            return None
        return "ix = ?", [prefix + value]
    lo, hi = where_range.get(last, (None, None))
    if (lo is None and hi is None) or not all(b is None or isinstance(b, str) for b in (lo, hi)):
        return None
    clauses, params = ["ix >= ?"], [prefix + (lo if isinstance(lo, str) else "")]
    if isinstance(hi, str):
        clauses.append("ix < ?")
        params.append(prefix + hi)
    elif prefix:  # every value after this prefix: up to the next character after the separator
        clauses.append("ix < ?")
        params.append(prefix[:-1] + chr(ord(SEP) + 1))
    return " AND ".join(clauses), list(params)
