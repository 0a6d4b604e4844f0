"""Per-partition progress and per-batch audit documents: nothing lost, nothing counted twice.

The progress document of a (source, partition) is written last in every batch. A
message at or below its `last_seq` had all of its effects written before, so a
redelivery of it is skipped and not recounted (`replayed`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from shared.engine.documents import stamp
from shared.stores.port import Document, DocumentStore, TransientStoreError, WriteOp

__all__ = [
    "AUDIT_CONTAINER",
    "PartitionRestarted",
    "audit_document",
    "check_redelivery",
    "checksum",
    "progress_id",
    "read_progress",
    "write_progress",
]

AUDIT_CONTAINER = "audit"
_COUNTERS = ("received", "accepted", "dead_lettered", "duplicates", "documents_written", "batches")


def progress_id(source: str, partition: str) -> str:
    return f"progress|{source}|{partition}"


def read_progress(store: DocumentStore, source: str, partition: str) -> Document | None:
    """The progress document of a partition, or None before its first batch."""
    doc_id = progress_id(source, partition)
    return store.read(AUDIT_CONTAINER, doc_id, doc_id)


_PRECISION: Final = timedelta(seconds=1)
"""Azure Capture keeps enqueued times to the second, the trigger to the millisecond: the same message
replayed from the capture and then redelivered live may look up to a second later."""


class PartitionRestarted(RuntimeError):
    """A message numbered at or below the partition's progress was enqueued after the last applied one.

    A redelivery is the same message again: enqueued no later than the last one applied.
    A later one with a number already used means the partition counts from 0 again (a
    hub deleted and created again, a log replaced): skipping it as applied would lose it,
    so the batch stops loudly instead (the Functions retry policy keeps it, and the
    partition's lag shows it) until an operator rebuilds the store for the new numbering.
    """


def check_redelivery(
    progress: Document | None, source: str, partition: str, sequence: int, enqueued: datetime | None
) -> None:
    """Raise `PartitionRestarted` if message (`sequence`, `enqueued`), at or below the progress, is not a redelivery."""
    if progress is None or enqueued is None or sequence > int(progress["last_seq"]):
        return
    last = progress.get("last_enqueued")
    if last is not None and enqueued > datetime.fromisoformat(str(last)) + _PRECISION:
        raise PartitionRestarted(
            f"{source} partition {partition}: message {sequence} was enqueued at {enqueued.isoformat()}, after"
            f" message {progress['last_seq']} (the last applied, enqueued {last}): the partition's numbering"
            " restarted (hub or log re-created?). Not skipped as applied, not counted: the partition stops here;"
            " rebuild the store from the capture for the new numbering (docs/engine.md, 'Exactly-once effect')"
        )


def write_progress(
    store: DocumentStore,
    current: Document | None,
    source: str,
    partition: str,
    last_seq: int,
    counts: dict[str, int],
    now: datetime,
    last_enqueued: datetime | None = None,
) -> None:
    """Advance the partition's progress to `last_seq` (enqueued `last_enqueued`), adding `counts`; raises if raced."""
    doc_id = progress_id(source, partition)
    doc: dict[str, Any] = {k: v for k, v in (current or {}).items() if not k.startswith("_")}
    if last_enqueued is None:
        doc.pop("last_enqueued", None)
    else:  # full precision: a redelivery carries the very same enqueued time (`check_redelivery`)
        doc["last_enqueued"] = last_enqueued.astimezone(UTC).isoformat()
    # ttl -1: the audit container expires batch records after 90 days, never a partition's progress.
    doc.update(
        id=doc_id, pk=doc_id, source=source, partition=partition, last_seq=last_seq, updated_at=stamp(now), ttl=-1
    )
    for name in _COUNTERS:
        doc[name] = int(doc.get(name, 0)) + counts.get(name, 0)
    op = WriteOp.replace(doc, current["_etag"]) if current else WriteOp.create(doc)
    (result,) = store.write_many(AUDIT_CONTAINER, [op])
    if not result.ok:
        # Two consumers on one partition: let the host retry; the views are safe either way.
        raise TransientStoreError(f"progress of {source}/{partition} changed underneath ({result.outcome})")


def checksum(event_ids: Sequence[str]) -> str:
    """SHA-256 over the accepted event ids in order (first 32 hex digits)."""
    digest = hashlib.sha256()
    for event_id in event_ids:
        digest.update(event_id.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()[:32]


def audit_document(
    source: str, partition: str, first_seq: int, last_seq: int, counts: dict[str, int], sums: str, now: datetime
) -> Document:
    """The audit record of one batch (idempotent id: a replay of the same range overwrites it)."""
    return {
        "id": f"audit|{source}|{partition}|{first_seq}-{last_seq}",
        "pk": f"audit|{source}|{partition}",
        "source": source,
        "partition": partition,
        "first_seq": first_seq,
        "last_seq": last_seq,
        "checksum": sums,
        "processed_at": stamp(now),
        **counts,
    }
