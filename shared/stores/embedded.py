"""The embedded adapter: every container in one SQLite file, with ETags and a change feed.

The event-id registry lives in a table of its own, keyed by a digest
(`shared.stores._sqlite_schema`); every operation works on it as on the others.

Threading rules: one instance may be shared by threads. Each thread gets its own
connection (created on first use); writes are serialised by an in-process lock and,
across processes, by SQLite's write lock (``BEGIN IMMEDIATE`` + busy timeout). WAL
lets readers (queries, the change-feed poller) run while a writer commits; a
multi-statement read (`read_many`) sees one snapshot. Call `close` once the threads
are done. A file path is required (``:memory:`` would give each thread its own db).

TTL follows Cosmos DB: a container whose `ContainerSpec.default_ttl_seconds` is None
never expires anything (a per-document ``ttl`` is then ignored); otherwise a document
expires ``ttl`` (its own, else the container's) seconds after its last write, and
``ttl: -1`` means never. Expired documents are invisible at once and removed by
`purge_expired`. Time comes from the injected `clock`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import orjson

from shared.stores._documents import (
    check_fields,
    check_filters,
    check_unique_keys,
    container_spec,
    partition_key_field,
    partition_key_of,
    user_body,
)
from shared.stores._feed_token import FeedPosition, decode_token, encode_token
from shared.stores._sqlite_fields import UNINDEXED, UNINDEXED_PROBE, index_clause
from shared.stores._sqlite_in import IN_LIST_MAX, in_list
from shared.stores._sqlite_ops import (
    DOCS,
    POINTS,
    PreparedWrite,
    apply_write,
    create_points,
    prepare_write,
    query_sql,
    table_of,
)
from shared.stores._sqlite_schema import ensure_schema, point_key
from shared.stores.port import (
    ChangeFeedPage,
    Conflict,
    Document,
    DocumentStore,
    NotFound,
    PreconditionFailed,
    Scalar,
    WriteOp,
    WriteResult,
)
from shared.stores.sqlite_connections import ThreadConnections
from shared.topology import ContainerSpec

__all__ = ["SqliteDocumentStore"]

_VISIBLE = "(expires_at IS NULL OR expires_at > ?)"


class SqliteDocumentStore(DocumentStore):
    """`DocumentStore` on one SQLite file (created if missing)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout_s: float = 30.0,
    ) -> None:
        """Open (or create) the store at `path`; `clock` returns epoch seconds."""
        self._path = Path(path)
        if str(path) == ":memory:":
            raise ValueError("the embedded store needs a file path; use a temporary file for tests")
        self._clock = clock
        self._db = ThreadConnections(self._path, busy_timeout_s=busy_timeout_s)
        self._write_lock = threading.Lock()
        self._store_id = ensure_schema(self._conn())

    @property
    def path(self) -> Path:
        """The SQLite file."""
        return self._path

    @property
    def store_id(self) -> str:
        """The id minted once for this file (a file re-created at the same path has another)."""
        return self._store_id

    # -- connections and transactions ---------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._db.closed:
            raise RuntimeError("the store is closed")
        return self._db.get()

    @contextlib.contextmanager
    def _write_txn(self) -> Iterator[sqlite3.Connection]:
        with self._db.write(self._write_lock) as conn:
            yield conn

    def close(self) -> None:
        """Close every thread's connection."""
        self._db.close()

    # -- reads --------------------------------------------------------------------------

    def read(self, container: str, pk: str, id: str) -> Document | None:
        """Point read; None when absent or expired."""
        container_spec(container)
        table = table_of(container)
        row = (
            self._conn()
            .execute(
                f"SELECT body, etag, ts FROM {table.name} WHERE {table.match} AND {_VISIBLE}",
                (*table.key(container, pk, id), self._clock()),
            )
            .fetchone()
        )
        return None if row is None else _document(*row)

    def read_many(self, container: str, keys: Sequence[tuple[str, str]]) -> dict[str, Document]:
        """All visible documents among `keys`, by id, read in one snapshot."""
        container_spec(container)
        if len({doc_id for _, doc_id in keys}) != len(keys):
            raise ValueError("read_many needs unique ids")
        found: dict[str, Document] = {}
        if not keys:
            return found
        conn, now = self._conn(), self._clock()
        if table_of(container).keyed:
            return _read_points(conn, container, keys, now)
        ids_by_pk: dict[str, list[str]] = {}
        for pk, doc_id in keys:
            ids_by_pk.setdefault(pk, []).append(doc_id)
        conn.execute("BEGIN")  # one snapshot across statements
        try:
            for pk, ids in ids_by_pk.items():
                for start in range(0, len(ids), IN_LIST_MAX):
                    marks, chunk = in_list(ids[start : start + IN_LIST_MAX])
                    rows = conn.execute(
                        f"SELECT id, body, etag, ts FROM docs WHERE container = ? AND pk = ? "
                        f"AND id IN ({marks}) AND {_VISIBLE}",
                        [container, pk, *chunk, now],
                    )
                    for doc_id, body, etag, ts in rows:
                        found[doc_id] = _document(body, etag, ts)
        finally:
            conn.execute("COMMIT")
        return found

    def query(
        self,
        container: str,
        *,
        pk: str | None = None,
        where: Mapping[str, Scalar] | None = None,
        where_range: Mapping[str, tuple[Scalar | None, Scalar | None]] | None = None,
        order_by: str | None = None,
        limit: int | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[Document]:
        """Filter with SQLite's json_extract (see `DocumentStore` for what is supported)."""
        container_spec(container)
        check_filters(where, where_range, order_by, limit)
        projection = check_fields(fields)
        where, where_range, now, conn = where or {}, where_range or {}, self._clock(), self._conn()
        narrowed = index_clause(container, where, where_range)
        if narrowed is None:
            rows = conn.execute(*query_sql(container, now, pk, where, where_range, order_by, limit, projection))
            return [_document(body, etag, ts) for body, etag, ts in rows]
        conn.execute("BEGIN")  # the probe and the query see one snapshot
        try:
            if conn.execute(UNINDEXED_PROBE, (container, UNINDEXED)).fetchone() is not None:
                narrowed = None  # a document outside the index: scan
            sql = query_sql(container, now, pk, where, where_range, order_by, limit, projection, narrowed)
            return [_document(body, etag, ts) for body, etag, ts in conn.execute(*sql)]
        finally:
            conn.execute("COMMIT")

    def change_feed(self, container: str, continuation: str | None, max_items: int = 1000) -> ChangeFeedPage:
        """Documents whose last write is after `continuation`, oldest change first."""
        container_spec(container)
        if max_items < 1:
            raise ValueError("max_items must be >= 1")
        after = 0
        if continuation is not None:
            after = decode_token(continuation, store_id=self._store_id, container=container).lsn
        rows = (
            self._conn()
            .execute(
                f"SELECT body, etag, ts, lsn FROM {table_of(container).name} "
                f"WHERE container = ? AND lsn > ? AND {_VISIBLE} ORDER BY lsn LIMIT ?",
                (container, after, self._clock(), max_items),
            )
            .fetchall()
        )
        if not rows:
            return ChangeFeedPage([], continuation)
        docs = [{**_document(body, etag, ts), "_lsn": lsn} for body, etag, ts, lsn in rows]
        token = encode_token(FeedPosition(self._store_id, container, rows[-1][3]))
        return ChangeFeedPage(docs, token)

    # -- writes -------------------------------------------------------------------------

    def write_many(self, container: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """All ops in one SQLite transaction; each op succeeds or fails on its own."""
        spec = container_spec(container)
        now = self._clock()
        pk_field = partition_key_field(container)
        prepared = [_prepare(spec, pk_field, op) for op in ops]  # encoded before the lock is taken
        check_unique_keys([(w.pk, w.body["id"]) for w in prepared], "write_many")
        with self._write_txn() as conn:
            row = conn.execute("SELECT lsn FROM feed_clock WHERE container = ?", (container,)).fetchone()
            last_lsn = start_lsn = 0 if row is None else int(row[0])
            results: list[WriteResult] = []
            if table_of(container).keyed and all(write.kind == "create" for write in prepared):
                results = create_points(conn, spec, prepared, first_lsn=last_lsn + 1, now=now)  # the registry
                last_lsn += sum(result.ok for result in results)
            else:
                for write in prepared:
                    result = apply_write(conn, spec, write, lsn=last_lsn + 1, now=now)
                    if result.ok:
                        last_lsn += 1
                    results.append(result)
            if last_lsn != start_lsn:
                conn.execute(
                    "INSERT INTO feed_clock (container, lsn) VALUES (?, ?) "
                    "ON CONFLICT (container) DO UPDATE SET lsn = excluded.lsn",
                    (container, last_lsn),
                )
        return results

    def create(self, container: str, doc: Document) -> Document:
        """Insert; `Conflict` if the id exists (and has not expired)."""
        return _single(self.write_many(container, [WriteOp.create(doc)])[0], doc)

    def replace(self, container: str, doc: Document, if_match: str) -> Document:
        """Overwrite if the ETag still matches."""
        return _single(self.write_many(container, [WriteOp.replace(doc, if_match)])[0], doc)

    def upsert(self, container: str, doc: Document) -> Document:
        """Create or overwrite."""
        return _single(self.write_many(container, [WriteOp.upsert(doc)])[0], doc)

    def delete(self, container: str, pk: str, id: str, if_match: str | None = None) -> None:
        """Remove a visible document (deletes do not appear in the change feed)."""
        container_spec(container)
        table = table_of(container)
        key = table.key(container, pk, id)
        with self._write_txn() as conn:
            row = conn.execute(
                f"SELECT etag FROM {table.name} WHERE {table.match} AND {_VISIBLE}", (*key, self._clock())
            ).fetchone()
            if row is None:
                raise NotFound(f"{container}/{pk}/{id} does not exist")
            if if_match is not None and row[0] != if_match:
                raise PreconditionFailed(f"{container}/{pk}/{id} changed since ETag {if_match}")
            conn.execute(f"DELETE FROM {table.name} WHERE {table.match}", key)

    def purge_expired(self, now: float | None = None) -> int:
        """Delete documents expired at `now` (default: the clock); returns how many."""
        moment = self._clock() if now is None else now
        with self._write_txn() as conn:
            return sum(
                conn.execute(
                    f"DELETE FROM {table.name} WHERE expires_at IS NOT NULL AND expires_at <= ?", (moment,)
                ).rowcount
                for table in (DOCS, POINTS)
            )


def _prepare(spec: ContainerSpec, pk_field: str, op: WriteOp) -> PreparedWrite:
    body = user_body(op.doc)
    return prepare_write(spec, op.kind, partition_key_of(spec.name, body, pk_field), body, op.if_match)


def _read_points(
    conn: sqlite3.Connection, container: str, keys: Sequence[tuple[str, str]], now: float
) -> dict[str, Document]:
    """`read_many` of a point container: by digest, `IN_LIST_MAX` at a time, in one snapshot."""
    by_key = {point_key(container, pk, doc_id): doc_id for pk, doc_id in keys}
    digests = list(by_key)
    found: dict[str, Document] = {}
    conn.execute("BEGIN")
    try:
        for start in range(0, len(digests), IN_LIST_MAX):
            marks, chunk = in_list(digests[start : start + IN_LIST_MAX])
            rows = conn.execute(
                f"SELECT key, body, etag, ts FROM points WHERE key IN ({marks}) AND {_VISIBLE}", [*chunk, now]
            )
            for key, body, etag, ts in rows:
                found[by_key[key]] = _document(body, etag, ts)
    finally:
        conn.execute("COMMIT")
    return found


def _document(body: str, etag: str, ts: int) -> Document:
    doc: Document = orjson.loads(body)
    doc["_etag"] = etag
    doc["_ts"] = ts
    return doc


def _single(result: WriteResult, doc: Document) -> Document:
    where = f"document {doc.get('id')!r}"
    if result.outcome == "conflict":
        raise Conflict(f"{where} already exists")
    if result.outcome == "precondition_failed":
        raise PreconditionFailed(f"{where} changed since the ETag that was read")
    if result.outcome == "not_found":
        raise NotFound(f"{where} does not exist")
    assert result.doc is not None
    return result.doc
