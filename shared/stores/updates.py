"""Read, change and conditionally write many documents at once, safe against concurrent writers.

The engine's one write pattern: read every document a unit of work touches in one
`read_many`, compute each one's next version in memory, write each changed one once
(create, or replace on the ETag it was read with). A document that lost a race to
another writer is read again and recomputed; the winners are not touched again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from shared.stores.port import Document, DocumentStore, TransientStoreError, WriteOp

__all__ = ["MAX_ATTEMPTS", "Updated", "update_documents"]

MAX_ATTEMPTS = 8
"""Rounds of re-reading lost documents before the caller's host retries the whole unit."""

Update = Callable[[str, Document | None], Document | None]
"""(id, current version or None) -> the next version, or None to leave the document as it is."""


@dataclass(slots=True)
class Updated:
    """What `update_documents` did."""

    written: list[Document] = field(default_factory=list)
    """The new versions written (as sent, without the store's system properties)."""
    unchanged: list[Document] = field(default_factory=list)
    """Current versions of existing documents that the update left as they were."""


def update_documents(
    store: DocumentStore, container: str, keys: Mapping[str, str], update: Update, *, attempts: int = MAX_ATTEMPTS
) -> Updated:
    """Apply `update` to the documents of `container` at `keys` (id -> partition key value).

    `update` may run more than once for a document that lost a race, each time on its
    newest version. Raises `TransientStoreError` when documents are still contended
    after `attempts` rounds; the writes that won stay written (updates are idempotent
    by design: each document remembers what it already holds).
    """
    done = Updated()
    pending = list(keys)
    for _ in range(attempts):
        current = store.read_many(container, [(keys[doc_id], doc_id) for doc_id in pending])
        ops: list[WriteOp] = []
        for doc_id in pending:
            existing = current.get(doc_id)
            doc = update(doc_id, existing)
            if doc is not None:
                ops.append(WriteOp.replace(doc, existing["_etag"]) if existing is not None else WriteOp.create(doc))
            elif existing is not None:
                done.unchanged.append(existing)
        losers: set[str] = set()
        for op, result in zip(ops, store.write_many(container, ops), strict=True):
            if result.ok:
                done.written.append(op.doc)
            else:
                losers.add(op.doc["id"])
        pending = [doc_id for doc_id in pending if doc_id in losers]
        if not pending:
            return done
    raise TransientStoreError(f"{container}: {len(pending)} documents still contended after {attempts} attempts")
