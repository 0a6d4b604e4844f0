"""Read, change and conditionally write many documents at once, safe against concurrent writers.

The engine's one write pattern: read the documents a unit of work touches with one
`read_many`, compute each one's next version in memory, write each changed one once
(create, or replace on the ETag it was read with). A document that lost a race to
another writer is read again and recomputed; the winners are not touched again.

Documents go `CHUNK` at a time: a unit of work holds one chunk's current versions,
next versions and encoded texts, not every document's at once. Each document is read,
changed and written on its own terms (its ETag), so chunks change nothing about what
is written; a crash between two chunks is a crash between two documents, which the
engine's versions already make exact (Cosmos DB has no transaction across partitions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from shared.stores.port import Document, DocumentStore, TransientStoreError, WriteOp

__all__ = ["CHUNK", "MAX_ATTEMPTS", "Updated", "update_chunks", "update_documents"]

MAX_ATTEMPTS = 8
"""Rounds of re-reading lost documents before the caller's host retries the whole unit."""
CHUNK = 128
"""Documents read and written together. A rollup page of 1,000 orders touches ~620 backlog shards, whose
parsed versions grow with the day (8.8 MiB at once 250 s into a 5,000 ev/s run, against 2.9 at 60 s);
the process keeps its largest such moment as resident memory (docs/engine.md)."""

Update = Callable[[str, Document | None], Document | None]
"""(id, current version or None) -> the next version, or None to leave the document as it is."""


@dataclass(slots=True)
class Updated:
    """What `update_documents` did."""

    count: int = 0
    """Documents written."""
    written: list[Document] = field(default_factory=list)
    """The new versions written (as sent, without the store's system properties; empty unless kept)."""
    unchanged: list[Document] = field(default_factory=list)
    """Current versions of existing documents that the update left as they were (empty unless kept)."""


def update_documents(
    store: DocumentStore,
    container: str,
    keys: Mapping[str, str],
    update: Update,
    *,
    attempts: int = MAX_ATTEMPTS,
    chunk: int = CHUNK,
    keep: bool = True,
) -> Updated:
    """Apply `update` to the documents of `container` at `keys` (id -> partition key value), `chunk` at a time.

    `update` may run more than once for a document that lost a race, each time on its
    newest version. With `keep` false only the count is returned (the documents are let
    go chunk by chunk). Raises `TransientStoreError` when documents are still contended
    after `attempts` rounds; the writes that won stay written (updates are idempotent
    by design: each document remembers what it already holds).
    """
    done = Updated()
    for part in update_chunks(store, container, keys, update, attempts=attempts, chunk=chunk):
        done.count += part.count
        if keep:
            done.written += part.written
            done.unchanged += part.unchanged
    return done


def update_chunks(
    store: DocumentStore,
    container: str,
    keys: Mapping[str, str],
    update: Update,
    *,
    attempts: int = MAX_ATTEMPTS,
    chunk: int = CHUNK,
) -> Iterator[Updated]:
    """`update_documents` a chunk at a time: each chunk's result, yielded once its documents are written."""
    ids = list(keys)
    for start in range(0, len(ids), chunk):
        yield _update_chunk(store, container, keys, ids[start : start + chunk], update, attempts)


def _update_chunk(
    store: DocumentStore, container: str, keys: Mapping[str, str], pending: list[str], update: Update, attempts: int
) -> Updated:
    done = Updated()
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
                done.count += 1
                done.written.append(op.doc)
            else:
                losers.add(op.doc["id"])
        pending = [doc_id for doc_id in pending if doc_id in losers]
        if not pending:
            return done
    raise TransientStoreError(f"{container}: {len(pending)} documents still contended after {attempts} attempts")
