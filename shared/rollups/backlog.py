"""Open-order backlog per store, kept from the latest version of each order document."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.engine.orders import order_facts
from shared.rollups.keys import ROLLUPS_CONTAINER, backlog_id
from shared.stores.port import Document, DocumentStore
from shared.stores.updates import update_documents

__all__ = ["apply_orders_to_backlog"]


def apply_orders_to_backlog(store: DocumentStore, orders: Iterable[Mapping[str, Any]]) -> int:
    """Add open orders to their store's backlog and drop completed or cancelled ones; return writes."""
    by_store: dict[str, list[Mapping[str, Any]]] = {}
    for order in orders:
        by_store.setdefault(order["store_id"], []).append(order)

    def update(doc_id: str, existing: Document | None) -> Document:
        store_id = store_of[doc_id]
        open_orders: dict[str, Any] = dict(existing["open"]) if existing else {}
        for order in by_store[store_id]:
            known = open_orders.get(order["key"])
            if known is not None and known[0] > order["v"]:
                continue
            facts = order_facts([tuple(s) for s in order["statuses"]])
            if facts.is_open:
                latest = facts.latest  # the current promise and the store segment it is counted in
                open_orders[order["key"]] = [order["v"], latest[2] // 1000, latest[5], latest[6]]
            else:
                open_orders.pop(order["key"], None)
        return {"id": doc_id, "pk": doc_id, "view": "backlog", "store_id": store_id, "open": open_orders}

    store_of = {backlog_id(store_id): store_id for store_id in by_store}
    keys = {doc_id: doc_id for doc_id in store_of}  # a backlog document is its own partition
    return len(update_documents(store, ROLLUPS_CONTAINER, keys, update).written)
