"""The rollup handler: a change-feed page of base views or orders, cascaded up every level."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shared.handlers.ports import ChangeOutcome
from shared.rollups.apply import apply_edges
from shared.rollups.backlog import apply_orders_to_backlog
from shared.rollups.buckets import BucketEdge
from shared.rollups.cascade import Edge, edges_from_base
from shared.stores.port import Document, DocumentStore

__all__ = ["RollupHandler"]


class RollupHandler:
    """Callable `ChangeHandler`: idempotent (child versions guard every parent), so a page may be replayed."""

    def __init__(self, store: DocumentStore) -> None:
        self._store = store

    def __call__(self, container: str, docs: Sequence[Document], now: datetime) -> ChangeOutcome:
        """Roll the changed documents up; `now` is unused: as_of comes from the children."""
        written = 0
        orders = [d for d in docs if d.get("view") == "order"]
        if orders:
            written += apply_orders_to_backlog(self._store, orders)
        edges: list[Edge | BucketEdge] = [edge for doc in docs for edge in edges_from_base(doc)]
        while edges:
            edges, count = apply_edges(self._store, edges)
            written += count
        return ChangeOutcome(changes=len(docs), documents_written=written)
