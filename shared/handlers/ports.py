"""What a host needs to know of the handlers: two callables and their outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from shared.pipeline.raw import RawEvent
from shared.stores.port import Document
from shared.topology import Source

__all__ = ["BatchHandler", "BatchOutcome", "ChangeHandler", "ChangeOutcome"]


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """Counts of one ingest batch. received = accepted + dead_lettered + duplicates + replayed."""

    source: Source
    received: int
    accepted: int
    dead_lettered: int
    duplicates: int
    """Producer duplicates: an event id already applied by an earlier message."""
    replayed: int
    """Messages at or below the partition's applied position (a redelivery): skipped, not recounted."""
    documents_written: int
    dead_letters_by_reason: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChangeOutcome:
    """What one change-feed page did to the rollups."""

    changes: int
    documents_written: int


class BatchHandler(Protocol):
    """Ingest: a batch of one source's messages from one partition, in sequence order.

    Bad input never raises (it becomes dead letters); transient store faults raise
    `TransientStoreError` so the host retries the batch. Returning means the batch's
    effect is durable: the host may checkpoint.
    """

    def __call__(self, source: Source, raws: Sequence[RawEvent], now: datetime) -> BatchOutcome: ...


class ChangeHandler(Protocol):
    """Rollups: a page of changed documents of one container (latest versions), in feed order."""

    def __call__(self, container: str, docs: Sequence[Document], now: datetime) -> ChangeOutcome: ...
