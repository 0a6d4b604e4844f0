"""SQL of the embedded store's conditional writes and queries (one statement per op)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from shared.stores._documents import partition_key_field
from shared.stores._sqlite_fields import FIELD_INDEXES, index_value
from shared.stores._sqlite_in import IN_LIST_MAX, in_list
from shared.stores._sqlite_schema import POINT_CONTAINERS, point_key
from shared.stores.port import Document, RejectedWrite, Scalar, WriteKind, WriteResult
from shared.topology import ContainerSpec

__all__ = [
    "DOCS",
    "POINTS",
    "PreparedWrite",
    "Table",
    "apply_write",
    "create_points",
    "expires_at",
    "prepare_write",
    "query_sql",
    "table_of",
]

_VISIBLE = "(expires_at IS NULL OR expires_at > ?)"
_FIELDS = ("body", "etag", "lsn", "ts", "expires_at")
_SET_ALL = ", ".join(f"{column} = excluded.{column}" for column in _FIELDS)
_SET_EACH = ", ".join(f"{column} = ?" for column in _FIELDS)


@dataclass(frozen=True, slots=True)
class Table:
    """Where a container's documents live, how a statement names one, and its conditional writes.

    ``docs`` is unique on (container, pk, id); ``points`` (`keyed`) on ``key``
    (`point_key`), so its statements name a document by that key alone. ``docs``
    inserts its field index column ``ix`` too; an update leaves it to `set_index`
    (setting a column rewrites its index entry, even to the same value).
    """

    name: str
    keyed: bool
    match: str
    """The WHERE clause naming one document; `key` gives its values."""
    upsert: str
    create: str
    """An upsert that may only take the place of an expired document that has not been purged yet."""
    replace: str
    exists: str
    set_index: str
    """Sets ``ix`` only where it differs, so an unchanged document's index entry is not rewritten."""

    def key(self, container: str, pk: str, id: str) -> tuple[object, ...]:
        return (point_key(container, pk, id),) if self.keyed else (container, pk, id)


def _table(name: str, *, keyed: bool) -> Table:
    names = ("key, " if keyed else "") + "container, pk, id, " + ", ".join(_FIELDS) + ("" if keyed else ", ix")
    marks = ", ".join("?" * len(names.split(", ")))
    conflict, match = ("key", "key = ?") if keyed else ("container, pk, id", "container = ? AND pk = ? AND id = ?")
    upsert = f"INSERT INTO {name} ({names}) VALUES ({marks}) ON CONFLICT ({conflict}) DO UPDATE SET {_SET_ALL}"
    return Table(
        name,
        keyed,
        match,
        upsert,
        f"{upsert} WHERE {name}.expires_at IS NOT NULL AND {name}.expires_at <= ?",
        f"UPDATE {name} SET {_SET_EACH} WHERE {match} AND etag = ? AND {_VISIBLE}",
        f"SELECT 1 FROM {name} WHERE {match} AND {_VISIBLE}",
        "" if keyed else f"UPDATE {name} SET ix = ? WHERE {match} AND ix IS NOT ?",
    )


DOCS = _table("docs", keyed=False)
POINTS = _table("points", keyed=True)


def table_of(container: str) -> Table:
    """The table that holds `container`'s documents."""
    return POINTS if container in POINT_CONTAINERS else DOCS


@dataclass(frozen=True, slots=True)
class PreparedWrite:
    """A `WriteOp` checked, stripped of system properties and encoded, ready for SQL.

    Everything that needs no transaction is done here (`prepare_write`), before the
    writer takes the file's lock: the JSON text, the key, the field index's values.
    """

    kind: WriteKind
    pk: str
    body: Document
    if_match: str | None
    text: str
    key: tuple[object, ...]
    ix: str | None


def prepare_write(spec: ContainerSpec, kind: WriteKind, pk: str, body: Document, if_match: str | None) -> PreparedWrite:
    """Encode one write; `RejectedWrite` for a body JSON cannot hold (an integer past 64 bits)."""
    container, doc_id = spec.name, body["id"]
    try:
        text = orjson.dumps(body).decode()
    except orjson.JSONEncodeError as exc:
        if "64-bit" not in str(exc):  # a type JSON has no word for (a set...) is a bug: raise it as it is
            raise
        raise RejectedWrite(f"document {doc_id} cannot be stored: {exc}") from None  # an integer past 64 bits
    table = table_of(container)
    ix = index_value(container, body) if not table.keyed and container in FIELD_INDEXES else None
    return PreparedWrite(kind, pk, body, if_match, text, table.key(container, pk, doc_id), ix)


def expires_at(spec: ContainerSpec, body: Document, now: float) -> float | None:
    """When `body` written at `now` expires under Cosmos TTL rules (None: never)."""
    if spec.default_ttl_seconds is None:
        return None
    ttl = body.get("ttl", spec.default_ttl_seconds)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or (ttl != -1 and ttl <= 0):
        raise ValueError(f"ttl must be a positive int of seconds or -1, not {ttl!r}")
    return None if ttl == -1 else now + ttl


def apply_write(
    conn: sqlite3.Connection, spec: ContainerSpec, write: PreparedWrite, *, lsn: int, now: float
) -> WriteResult:
    """Run one conditional write inside the caller's transaction; stamp it with `lsn`."""
    container, doc_id = spec.name, write.body["id"]
    etag, ts = f'"{lsn:x}"', int(now)
    expiry = expires_at(spec, write.body, now)
    table = table_of(container)
    key, text = write.key, write.text
    row = (*key, container, write.pk, doc_id) if table.keyed else key  # the columns before body
    indexed = not table.keyed and container in FIELD_INDEXES
    columns = (*row, text, etag, lsn, ts, expiry) if table.keyed else (*row, text, etag, lsn, ts, expiry, write.ix)
    if write.kind == "upsert":
        conn.execute(table.upsert, columns)
    elif write.kind == "create":
        cursor = conn.execute(table.create, (*columns, now))
        if cursor.rowcount == 0:
            return WriteResult("conflict")
    else:
        cursor = conn.execute(table.replace, (text, etag, lsn, ts, expiry, *key, write.if_match, now))
        if cursor.rowcount == 0:
            found = conn.execute(table.exists, (*key, now)).fetchone()
            return WriteResult("precondition_failed" if found else "not_found")
    # an update kept the row's ix: correct it if the fields differ (a create inserted it, unless it took the
    # place of an expired row, which only a container with a TTL has)
    if indexed and (write.kind != "create" or spec.default_ttl_seconds is not None):
        conn.execute(table.set_index, (write.ix, *key, write.ix))
    written = write.body  # the caller's body was copied by `user_body`: stamp that copy, do not copy again
    written["_etag"], written["_ts"] = etag, ts
    return WriteResult("ok", written)


_POINT_INSERT = (
    "INSERT INTO points (key, container, pk, id, body, etag, lsn, ts, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def create_points(
    conn: sqlite3.Connection, spec: ContainerSpec, writes: list[PreparedWrite], *, first_lsn: int, now: float
) -> list[WriteResult]:
    """Creates in a point container (the event-id registry: one per event), inside the caller's transaction.

    The same outcomes as `apply_write` one by one, in fewer statements: one lookup per
    `IN_LIST_MAX` keys finds those already taken (inside the write transaction, so
    nothing can take one meanwhile), and one ``executemany`` inserts the rest. A key whose
    document expired but is not purged yet is taken over by `apply_write`. The ``ok``
    results get consecutive lsns from `first_lsn` in the order of `writes`.
    """
    taken: dict[bytes, float | None] = {}
    keys = [write.key[0] for write in writes]
    for start in range(0, len(keys), IN_LIST_MAX):
        marks, chunk = in_list(keys[start : start + IN_LIST_MAX])
        taken.update(conn.execute(f"SELECT key, expires_at FROM points WHERE key IN ({marks})", chunk).fetchall())
    container, ts, lsn = spec.name, int(now), first_lsn
    results: list[WriteResult] = []
    rows: list[tuple[object, ...]] = []
    for write in writes:
        key = write.key[0]
        if key in taken:
            expiry = taken[key]
            if expiry is None or expiry > now:
                results.append(WriteResult("conflict"))
                continue
            result = apply_write(conn, spec, write, lsn=lsn, now=now)  # an expired entry, not purged yet
        else:
            etag = f'"{lsn:x}"'
            body = write.body
            rows.append((key, container, write.pk, body["id"], write.text, etag, lsn, ts, expires_at(spec, body, now)))
            body["_etag"], body["_ts"] = etag, ts
            result = WriteResult("ok", body)
        if result.ok:
            lsn += 1
        results.append(result)
    conn.executemany(_POINT_INSERT, rows)
    return results


def _field(name: str) -> str:
    return f"json_extract(body, '$.{name}')"


def query_sql(
    container: str,
    now: float,
    pk: str | None,
    where: Mapping[str, Scalar],
    where_range: Mapping[str, tuple[Scalar | None, Scalar | None]],
    order_by: str | None,
    limit: int | None,
    fields: tuple[str, ...] | None = None,
    narrowed: tuple[str, list[str]] | None = None,
) -> tuple[str, list[object]]:
    """SELECT body, etag, ts for `DocumentStore.query`; names are already validated.

    With `fields`, ``body`` is a JSON object of only those fields, built by SQLite, so
    the caller parses a few fields instead of the whole document (a rollup's children).
    A filter on ``id`` or the partition key field reads the column of the same value,
    so a range of partition keys is a range of the primary key's index, not a scan;
    `narrowed`, the field index's condition for these filters (`index_clause`), is added
    to them so the query reads that index.
    """
    clauses = ["container = ?", _VISIBLE]
    params: list[object] = [container, now]
    if pk is not None:
        clauses.append("pk = ?")
        params.append(pk)
    columns = {"id": "id", partition_key_field(container): "pk"}
    for name, value in where.items():
        clauses.append(f"{columns.get(name) or _field(name)} = ?")
        params.append(value)
    for name, (lo, hi) in where_range.items():
        if lo is not None:
            clauses.append(f"{columns.get(name) or _field(name)} >= ?")
            params.append(lo)
        if hi is not None:
            clauses.append(f"{columns.get(name) or _field(name)} < ?")
            params.append(hi)
    if narrowed is not None:
        clauses.append(narrowed[0])
        params.extend(narrowed[1])
    selected = "body"
    if fields is not None:
        selected = "json_object(" + ", ".join(f"'{name}', json_extract(body, '$.{name}')" for name in fields) + ")"
    sql = f"SELECT {selected}, etag, ts FROM {table_of(container).name} WHERE {' AND '.join(clauses)}"
    if order_by is not None:
        direction = "DESC" if order_by.startswith("-") else "ASC"
        sql += f" ORDER BY json_extract(body, '$.{order_by.removeprefix('-')}') {direction}"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params
