"""Feed the outbox from the `rollups` change feed: every changed minute rollup becomes delta rows.

Locally (demo) this polls the embedded store's change feed with its own continuation,
kept in the outbox container. In Azure the same `Outbox.enqueue_deltas` is called by
a change-feed trigger on `rollups` (its own lease prefix). Both are at-least-once and
both are fine: a rollup version already enqueued adds no row.
"""

from __future__ import annotations

from shared.rollups.keys import ROLLUPS_CONTAINER
from shared.sinks._outbox_docs import OUTBOX_CONTAINER
from shared.sinks.outbox import Outbox
from shared.stores.port import DocumentStore

__all__ = ["RollupFeed"]

_CURSOR_ID = "feed|rollups"


class RollupFeed:
    """Polls the rollups change feed into `outbox.enqueue_deltas`; the token is saved after each page."""

    def __init__(self, store: DocumentStore, outbox: Outbox, *, page_size: int = 500) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be >= 1, got {page_size}")
        self._store, self._outbox, self._page_size = store, outbox, page_size

    def poll(self, max_pages: int | None = None) -> int:
        """Enqueue the deltas of every change since the saved token; returns rows enqueued."""
        saved = self._store.read(OUTBOX_CONTAINER, _CURSOR_ID, _CURSOR_ID)
        token = None if saved is None else saved.get("continuation")
        rows = pages = 0
        while max_pages is None or pages < max_pages:
            page = self._store.change_feed(ROLLUPS_CONTAINER, token, self._page_size)
            if not page.docs:
                break
            rows += self._outbox.enqueue_deltas(page.docs)
            token = page.continuation
            self._store.upsert(OUTBOX_CONTAINER, {"id": _CURSOR_ID, "pk": _CURSOR_ID, "continuation": token, "ttl": -1})
            pages += 1
        return rows
