"""A document store that dies between two writes, to prove a replay leaves every view exact.

It wraps a real store (this is fault injection around the real thing, not a mock):
before each write operation it may raise `SimulatedCrash`, after having applied the
writes before it — also in the middle of a `write_many`, which is exactly a crash
between two document writes of one batch.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from shared.runtime.faults import SimulatedCrash
from shared.stores.port import ChangeFeedPage, Document, DocumentStore, Scalar, WriteOp, WriteResult

__all__ = ["CrashingStore"]


class CrashingStore(DocumentStore):
    """Delegates to `inner`; each write op crashes first with probability `crash_rate`."""

    def __init__(self, inner: DocumentStore, crash_rate: float, rng: random.Random, max_crashes: int = 10_000) -> None:
        if not 0.0 <= crash_rate < 1.0:
            raise ValueError(f"crash_rate must be within [0, 1), got {crash_rate}")
        self._inner = inner
        self._rate = crash_rate
        self._rng = rng
        self._left = max_crashes
        self.crashes = 0
        self.writes = 0

    def _maybe_crash(self, where: str) -> None:
        if self._left > 0 and self._rate and self._rng.random() < self._rate:
            self._left -= 1
            self.crashes += 1
            raise SimulatedCrash(f"simulated crash before a write to {where}")

    def read(self, container: str, pk: str, id: str) -> Document | None:
        return self._inner.read(container, pk, id)

    def read_many(self, container: str, keys: Sequence[tuple[str, str]]) -> dict[str, Document]:
        return self._inner.read_many(container, keys)

    def create(self, container: str, doc: Document) -> Document:
        self._maybe_crash(container)
        self.writes += 1
        return self._inner.create(container, doc)

    def replace(self, container: str, doc: Document, if_match: str) -> Document:
        self._maybe_crash(container)
        self.writes += 1
        return self._inner.replace(container, doc, if_match)

    def upsert(self, container: str, doc: Document) -> Document:
        self._maybe_crash(container)
        self.writes += 1
        return self._inner.upsert(container, doc)

    def delete(self, container: str, pk: str, id: str, if_match: str | None = None) -> None:
        self._maybe_crash(container)
        self._inner.delete(container, pk, id, if_match)

    def write_many(self, container: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        results: list[WriteResult] = []
        for op in ops:  # one by one, so a crash lands between two documents
            self._maybe_crash(container)
            results.extend(self._inner.write_many(container, [op]))
            self.writes += 1
        return results

    def query(
        self,
        container: str,
        *,
        pk: str | None = None,
        where: dict[str, Scalar] | None = None,  # type: ignore[override]
        where_range: dict[str, tuple[Scalar | None, Scalar | None]] | None = None,  # type: ignore[override]
        order_by: str | None = None,
        limit: int | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[Document]:
        return self._inner.query(
            container, pk=pk, where=where, where_range=where_range, order_by=order_by, limit=limit, fields=fields
        )

    def change_feed(self, container: str, continuation: str | None, max_items: int = 1000) -> ChangeFeedPage:
        return self._inner.change_feed(container, continuation, max_items)

    def close(self) -> None:
        self._inner.close()
