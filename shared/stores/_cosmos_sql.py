"""Cosmos DB SQL text of the adapter's queries, always parameterised."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from shared.stores.port import Scalar

__all__ = ["Parameters", "ids_in_partition_text", "query_text"]

Parameters = list[dict[str, object]]


def query_text(
    partition: tuple[str, str] | None,
    where: Mapping[str, Scalar],
    where_range: Mapping[str, tuple[Scalar | None, Scalar | None]],
    order_by: str | None,
    limit: int | None,
    fields: tuple[str, ...] | None = None,
) -> tuple[str, Parameters]:
    """``SELECT [TOP n] * FROM c [WHERE ...] [ORDER BY c.f]``; names are already validated.

    With `fields`, ``SELECT c.id, c.f, ..., c._etag, c._ts``: the documents' other
    fields are not returned (the query's RU charge grows with what it returns).

    ``TOP`` takes a literal (validated int) because not every server accepts a
    parameter there; ``OFFSET/LIMIT`` is avoided for the same reason. `partition`
    (field, value) is repeated in the text although the request is scoped to it:
    `@vercel/cosmosdb-server` ignores the partition-key header of a query and refuses
    one without a partition-key filter; for Cosmos DB the extra filter is free.
    """
    clauses: list[str] = []
    params: Parameters = []

    def bind(value: Scalar) -> str:
        name = f"@p{len(params)}"
        params.append({"name": name, "value": value})
        return name

    if partition is not None:
        clauses.append(f"c.{partition[0]} = {bind(partition[1])}")
    for field, value in where.items():
        clauses.append(f"c.{field} = {bind(value)}")
    for field, (lo, hi) in where_range.items():
        if lo is not None:
            clauses.append(f"c.{field} >= {bind(lo)}")
        if hi is not None:
            clauses.append(f"c.{field} < {bind(hi)}")
    top = f"TOP {int(limit)} " if limit is not None else ""
    selected = "*" if fields is None else ", ".join(f"c.{name}" for name in (*fields, "_etag", "_ts"))
    text = f"SELECT {top}{selected} FROM c"
    if clauses:
        text += " WHERE " + " AND ".join(clauses)
    if order_by is not None:
        direction = "DESC" if order_by.startswith("-") else "ASC"
        text += f" ORDER BY c.{order_by.removeprefix('-')} {direction}"
    return text, params


def ids_in_partition_text(pk_field: str, pk: str, ids: Sequence[str]) -> tuple[str, Parameters]:
    """The `read_many` query for `ids` of one partition (filtered by it, see `query_text`)."""
    text = f"SELECT * FROM c WHERE c.{pk_field} = @pk AND ARRAY_CONTAINS(@ids, c.id)"
    return text, [{"name": "@pk", "value": pk}, {"name": "@ids", "value": list(ids)}]
