"""Open-order backlog per store, kept from the latest version of each order document."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.engine.orders import order_facts
from shared.rollups.keys import ROLLUPS_CONTAINER, backlog_id
from shared.stores.port import DocumentStore, TransientStoreError, WriteOp

__all__ = ["apply_orders_to_backlog"]

_MAX_ATTEMPTS = 8


def apply_orders_to_backlog(store: DocumentStore, orders: Iterable[Mapping[str, Any]]) -> int:
    """Add open orders to their store's backlog and drop completed or cancelled ones; return writes."""
    by_store: dict[str, list[Mapping[str, Any]]] = {}
    for order in orders:
        by_store.setdefault(order["store_id"], []).append(order)
    pending = list(by_store)
    written = 0
    for _ in range(_MAX_ATTEMPTS):
        current = store.read_many(ROLLUPS_CONTAINER, [(backlog_id(s), backlog_id(s)) for s in pending])
        ops = []
        for store_id in pending:
            existing = current.get(backlog_id(store_id))
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
            doc = {
                "id": backlog_id(store_id),
                "pk": backlog_id(store_id),
                "view": "backlog",
                "store_id": store_id,
                "open": open_orders,
            }
            ops.append(WriteOp.replace(doc, existing["_etag"]) if existing else WriteOp.create(doc))
        results = store.write_many(ROLLUPS_CONTAINER, ops)
        written += sum(1 for r in results if r.ok)
        losers = {op.doc["store_id"] for op, r in zip(ops, results, strict=True) if not r.ok}
        pending = [s for s in pending if s in losers]
        if not pending:
            return written
    raise TransientStoreError("backlog documents still contended")
