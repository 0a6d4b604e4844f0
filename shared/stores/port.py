"""The document-store port: what the engine needs from Cosmos DB, and nothing more.

Two adapters implement it: `embedded.SqliteDocumentStore` (one SQLite file, used
locally and in tests) and `cosmos.CosmosDocumentStore` (azure-cosmos). The engine
codes against `DocumentStore` only.

Documents are JSON-compatible dicts with an ``id`` and a partition key value (the
field named by the container's partition key path in `shared.topology.CONTAINERS`;
``pk`` for every container but ``leases``). Stored documents come back with the
system properties ``_etag`` (str) and ``_ts`` (int seconds); change-feed documents
also carry ``_lsn`` (int). System properties sent on a write are ignored.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self, TypeAlias

__all__ = [
    "ChangeFeedPage",
    "Conflict",
    "Document",
    "DocumentStore",
    "NotFound",
    "PreconditionFailed",
    "RejectedWrite",
    "Scalar",
    "StoreError",
    "TransientStoreError",
    "WriteKind",
    "WriteOp",
    "WriteOutcome",
    "WriteResult",
]

Document: TypeAlias = dict[str, Any]
"""A JSON-compatible document with ``id`` and its partition key field."""

Scalar: TypeAlias = str | int | float | bool
"""A value that `DocumentStore.query` can compare a top-level field with."""


class StoreError(Exception):
    """Base of every error a document store raises on purpose."""


class Conflict(StoreError):
    """A create found a document with the same id in the same partition."""


class PreconditionFailed(StoreError):
    """An ETag condition did not hold: someone else wrote the document first."""


class NotFound(StoreError):
    """The document (or container) does not exist."""


class RejectedWrite(StoreError):
    """The store refuses a document for its content (too large, a number outside its range).

    Retrying cannot help: the engine isolates the events that made the document
    (dead-lettered with this reason) instead of failing the batch.
    """


class TransientStoreError(StoreError):
    """Throttling (429), unavailability (503) or a timeout outlived the retries.

    Callers let it propagate so the host (Functions runtime, local consumer) retries
    the whole batch; the engine's writes are idempotent on replay.
    """


WriteKind: TypeAlias = Literal["create", "replace", "upsert"]
WriteOutcome: TypeAlias = Literal["ok", "conflict", "precondition_failed", "not_found"]


@dataclass(frozen=True, slots=True)
class WriteOp:
    """One independent write of `DocumentStore.write_many`."""

    kind: WriteKind
    doc: Document
    """The full new body (system properties are ignored)."""
    if_match: str | None = None
    """Required for ``replace``: the ``_etag`` the caller read."""

    def __post_init__(self) -> None:
        if self.kind == "replace" and not self.if_match:
            raise ValueError("a replace needs if_match (the _etag that was read)")
        if self.kind != "replace" and self.if_match is not None:
            raise ValueError(f"if_match applies to replace only, not to {self.kind}")

    @classmethod
    def create(cls, doc: Document) -> WriteOp:
        """Create `doc`; the outcome is ``conflict`` if its id exists in its partition."""
        return cls("create", doc)

    @classmethod
    def replace(cls, doc: Document, if_match: str) -> WriteOp:
        """Replace `doc` if its stored ``_etag`` is still `if_match`."""
        return cls("replace", doc, if_match)

    @classmethod
    def upsert(cls, doc: Document) -> WriteOp:
        """Create or overwrite `doc` unconditionally."""
        return cls("upsert", doc)


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What happened to one `WriteOp`; failures are data, not exceptions."""

    outcome: WriteOutcome
    doc: Document | None = None
    """The stored document (with its new ``_etag``) when the outcome is ``ok``."""

    @property
    def ok(self) -> bool:
        """True when the write was applied."""
        return self.outcome == "ok"


@dataclass(frozen=True, slots=True)
class ChangeFeedPage:
    """A page of the change feed and the token that resumes right after it."""

    docs: list[Document] = field(default_factory=list)
    """Latest version of each changed document, in modification order."""
    continuation: str | None = None
    """Opaque; pass it to the next call. None (only for an empty feed) means 'from the start'."""


class DocumentStore(abc.ABC):
    """The port. All methods are synchronous; container names come from `topology.CONTAINERS`.

    Query support (`query`): equality on top-level fields (`where`), one or more
    half-open ranges ``lo <= field < hi`` on top-level fields (`where_range`; either
    bound may be None), an optional partition, ordering by one top-level field
    (prefix ``-`` for descending; ties in any order), a limit, and a projection
    (`fields`: only those top-level fields, plus ``id`` and the system properties, are
    returned; a field that is missing or null may be absent). Field names must be
    identifiers (``[A-Za-z_][A-Za-z0-9_]*``); compare like-typed values only.
    """

    @abc.abstractmethod
    def read(self, container: str, pk: str, id: str) -> Document | None:
        """Point read; None when the document does not exist (or has expired)."""

    @abc.abstractmethod
    def read_many(self, container: str, keys: Sequence[tuple[str, str]]) -> dict[str, Document]:
        """Read the `(pk, id)` keys in as few round trips as the backend allows.

        Returns documents by id; missing ones are absent. Ids must be unique in `keys`.
        """

    @abc.abstractmethod
    def create(self, container: str, doc: Document) -> Document:
        """Insert `doc`; raises `Conflict` if its id exists in its partition."""

    @abc.abstractmethod
    def replace(self, container: str, doc: Document, if_match: str) -> Document:
        """Overwrite `doc` if its ``_etag`` is `if_match`.

        Raises `PreconditionFailed` on a stale ETag and `NotFound` if it is gone.
        """

    @abc.abstractmethod
    def upsert(self, container: str, doc: Document) -> Document:
        """Create or overwrite `doc` unconditionally."""

    @abc.abstractmethod
    def delete(self, container: str, pk: str, id: str, if_match: str | None = None) -> None:
        """Delete a document; `NotFound` if absent, `PreconditionFailed` on a stale ETag."""

    @abc.abstractmethod
    def write_many(self, container: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply independent writes; one result per op, in order.

        Not all-or-nothing: a conflict or stale ETag is reported in its result while
        the other ops apply, so the caller re-reads and retries only the losers. Each
        document may appear once per call (ValueError otherwise): Cosmos sends the ops
        concurrently, so two writes of one document would race. The embedded store
        applies all ops in one transaction (nothing applied if it raises); on Cosmos a
        `TransientStoreError` may leave any subset applied.
        """

    @abc.abstractmethod
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
        """Documents matching every filter (see the class docstring for what is supported)."""

    @abc.abstractmethod
    def change_feed(self, container: str, continuation: str | None, max_items: int = 1000) -> ChangeFeedPage:
        """Changes after `continuation` (None: from the beginning), latest version each.

        Deletes are not reported (Cosmos latest-version mode). Tokens survive restarts.
        """

    def close(self) -> None:  # noqa: B027 - optional hook with a no-op default
        """Release connections; the store is unusable afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
