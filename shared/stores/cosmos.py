"""The Cosmos DB adapter of the document-store port (azure-cosmos, sync client).

ETag writes use ``replace_item(..., etag=, match_condition=IfNotModified)``; errors
and retries are mapped by `cosmos_errors`; credentials are checked by `cosmos_auth`.
Returned documents keep ``_etag``/``_ts`` (and ``_lsn`` in the change feed) and drop
``_rid``/``_self``/``_attachments`` so both adapters return the same shape.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.cosmos import ContainerProxy, CosmosClient, DatabaseProxy, PartitionKey

from shared.stores._cosmos_sql import ids_in_partition_text, query_text
from shared.stores._documents import (
    check_fields,
    check_filters,
    check_unique_keys,
    container_spec,
    partition_key_field,
    partition_key_of,
    user_body,
)
from shared.stores.cosmos_auth import Credential, resolve_credential
from shared.stores.cosmos_errors import call_with_retries
from shared.stores.cosmos_options import CosmosOptions
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
from shared.topology import CONTAINERS, COSMOS_DATABASE

__all__ = ["CosmosDocumentStore"]

T = TypeVar("T")
_DROPPED = ("_rid", "_self", "_attachments")
_IDS_PER_QUERY = 256


class CosmosDocumentStore(DocumentStore):
    """`DocumentStore` on a Cosmos DB (or emulator) account."""

    def __init__(
        self,
        endpoint: str,
        database: str = COSMOS_DATABASE,
        *,
        credential: Credential | None = None,
        options: CosmosOptions | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Connect to `database` at `endpoint` (``https://<account>.documents.azure.com:443/``).

        `credential` defaults to `DefaultAzureCredential`; pass the emulator key for a
        loopback emulator. `sleep` is used between adapter retries.

        Every thread gets its own `CosmosClient` (same endpoint, credential and
        settings): the sync SDK keeps each client's last response headers in one
        shared dictionary and adds keys to it after every request, while a query on
        another thread may be copying the same dictionary (azure-cosmos 4.16 and later,
        ``RuntimeError: OrderedDict mutated during iteration``).
        """
        self._options = options or CosmosOptions()
        self._sleep = sleep
        self._key = resolve_credential(endpoint, credential)
        if not self._options.connection_verify and not isinstance(self._key, str):
            raise ValueError("connection_verify=False is only for a local emulator")
        self._endpoint, self._database_name = endpoint, database
        self._local = threading.local()
        self._clients: list[CosmosClient] = []
        self._clients_lock = threading.Lock()
        self._setup()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def _setup(self) -> None:
        client = self._thread_client()  # the constructor's thread's client: a wrong endpoint fails here
        if not self._options.create_if_missing:
            return
        db = self._call(lambda: client.create_database_if_not_exists(self._database_name))
        for spec in CONTAINERS.values():
            self._call(
                lambda spec=spec: db.create_container_if_not_exists(  # type: ignore[misc]
                    id=spec.name,
                    partition_key=PartitionKey(path=spec.partition_key_path),
                    default_ttl=spec.default_ttl_seconds,
                )
            )

    def _thread_client(self) -> CosmosClient:
        client: CosmosClient | None = getattr(self._local, "client", None)
        if client is None:
            client = CosmosClient(self._endpoint, credential=self._key, **self._options.client_kwargs())
            with self._clients_lock:
                self._clients.append(client)
            self._local.client = client
            self._local.database = client.get_database_client(self._database_name)
            self._local.containers = {}
        return client

    def _container(self, name: str) -> ContainerProxy:
        """This thread's proxy of container `name`."""
        self._thread_client()
        containers: dict[str, ContainerProxy] = self._local.containers
        proxy = containers.get(name)
        if proxy is None:
            container_spec(name)
            database: DatabaseProxy = self._local.database
            proxy = containers[name] = database.get_container_client(name)
        return proxy

    def _call(self, call: Callable[[], T]) -> T:
        return call_with_retries(call, self._options.retry, self._sleep)

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._options.write_concurrency, "cosmos-store")
            return self._pool

    def close(self) -> None:
        """Stop the worker threads and close every thread's client."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()
        self._local = threading.local()

    # -- reads --------------------------------------------------------------------------

    def read(self, container: str, pk: str, id: str) -> Document | None:
        """Point read (1 RU); None on 404."""
        proxy = self._container(container)
        extra: dict[str, Any] = {}
        if self._options.npm_server_quirks:
            extra["request_options"] = {"enableCrossPartitionQuery": True}
        try:
            return _clean(self._call(lambda: proxy.read_item(id, partition_key=pk, **extra)))
        except NotFound:
            return None

    def read_many(self, container: str, keys: Sequence[tuple[str, str]]) -> dict[str, Document]:
        """By id, using the `CosmosOptions.read_many` strategy."""
        proxy = self._container(container)
        if len({doc_id for _, doc_id in keys}) != len(keys):
            raise ValueError("read_many needs unique ids")
        if not keys:
            return {}
        strategy = self._options.read_many
        if strategy == "read_items":
            pairs = [(doc_id, pk) for pk, doc_id in keys]
            # One partition range after another on this thread's client: the SDK's
            # own threads would share it (see __init__).
            docs = self._call(lambda: list(proxy.read_items(pairs, max_concurrency=1)))
        elif strategy == "query":
            pk_field = partition_key_field(container)
            chunks = [
                (pk, ids[start : start + _IDS_PER_QUERY])
                for pk, ids in _ids_by_pk(keys).items()
                for start in range(0, len(ids), _IDS_PER_QUERY)
            ]

            def query_chunk(chunk: tuple[str, list[str]]) -> list[dict[str, Any]]:
                text, params = ids_in_partition_text(pk_field, *chunk)
                own = self._container(container)  # the worker thread's client
                return self._call(lambda: list(own.query_items(text, parameters=params, partition_key=chunk[0])))

            docs = [doc for found in self._executor().map(query_chunk, chunks) for doc in found]
        else:
            found = self._executor().map(lambda key: self.read(container, *key), keys)
            docs = [doc for doc in found if doc is not None]
        return {doc["id"]: _clean(doc) for doc in docs}

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
        """A parameterised SQL query, scoped to `pk` when given (else cross-partition)."""
        proxy = self._container(container)
        check_filters(where, where_range, order_by, limit)
        partition = None if pk is None else (partition_key_field(container), pk)
        text, params = query_text(partition, where or {}, where_range or {}, order_by, limit, check_fields(fields))
        scope: dict[str, Any] = {"partition_key": pk} if pk is not None else {"enable_cross_partition_query": True}
        docs = self._call(lambda: list(proxy.query_items(text, parameters=params, **scope)))
        return [_clean(doc) for doc in docs]

    def change_feed(self, container: str, continuation: str | None, max_items: int = 1000) -> ChangeFeedPage:
        """One page of the latest-version change feed (the SDK's composite continuation)."""
        proxy = self._container(container)
        if max_items < 1:
            raise ValueError("max_items must be >= 1")
        start: dict[str, Any] = {"start_time": "Beginning"} if continuation is None else {"continuation": continuation}

        def fetch() -> ChangeFeedPage:
            pager = proxy.query_items_change_feed(max_item_count=max_items, **start).by_page()
            page = next(pager, None)
            docs = [] if page is None else [_clean(doc) for doc in page]
            token: str | None = getattr(pager, "continuation_token", None) if docs else continuation
            return ChangeFeedPage(docs, token)

        return self._call(fetch)

    # -- writes -------------------------------------------------------------------------

    def create(self, container: str, doc: Document) -> Document:
        """``create_item``; `Conflict` on 409."""
        return self._write(container, WriteOp.create(_body(container, doc)))

    def replace(self, container: str, doc: Document, if_match: str) -> Document:
        """``replace_item`` with ``If-Match``; `PreconditionFailed` on 412, `NotFound` on 404."""
        return self._write(container, WriteOp.replace(_body(container, doc), if_match))

    def upsert(self, container: str, doc: Document) -> Document:
        """``upsert_item``."""
        return self._write(container, WriteOp.upsert(_body(container, doc)))

    def delete(self, container: str, pk: str, id: str, if_match: str | None = None) -> None:
        """``delete_item``, conditional when `if_match` is given."""
        proxy = self._container(container)
        condition: dict[str, Any] = {}
        if if_match is not None:
            condition = {"etag": if_match, "match_condition": MatchConditions.IfNotModified}
        self._call(lambda: proxy.delete_item(id, partition_key=pk, **condition))

    def write_many(self, container: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Independent requests, `CosmosOptions.write_concurrency` at a time.

        A `TransientStoreError` of one op is raised after the ops already in flight
        finish; any of them may have been applied.
        """
        self._container(container)
        clean = [WriteOp(op.kind, _body(container, op.doc), op.if_match) for op in ops]  # validate first
        pk_field = partition_key_field(container)
        check_unique_keys([(op.doc[pk_field], op.doc["id"]) for op in clean], "write_many")
        if self._options.write_concurrency == 1 or len(clean) <= 1:
            return [self._write_result(container, op) for op in clean]
        return list(self._executor().map(lambda op: self._write_result(container, op), clean))

    def _write_result(self, container: str, op: WriteOp) -> WriteResult:
        try:
            return WriteResult("ok", self._write(container, op))
        except Conflict:
            return WriteResult("conflict")
        except PreconditionFailed:
            return WriteResult("precondition_failed")
        except NotFound:
            return WriteResult("not_found")

    def _write(self, container: str, op: WriteOp) -> Document:
        """Send one validated op; port errors raised."""
        proxy, body = self._container(container), op.doc
        if op.kind == "create":
            return _clean(self._call(lambda: proxy.create_item(body)))
        if op.kind == "upsert":
            return _clean(self._call(lambda: proxy.upsert_item(body)))
        if_match = op.if_match
        return _clean(
            self._call(
                lambda: proxy.replace_item(
                    body["id"], body, etag=if_match, match_condition=MatchConditions.IfNotModified
                )
            )
        )


def _body(container: str, doc: Document) -> Document:
    body = user_body(doc)
    partition_key_of(container, body)
    return body


def _clean(doc: Mapping[str, Any]) -> Document:
    return {k: v for k, v in doc.items() if k not in _DROPPED}


def _ids_by_pk(keys: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for pk, doc_id in keys:
        grouped.setdefault(pk, []).append(doc_id)
    return grouped
