"""Open-order backlog per store, kept from the latest version of each order document.

A backlog document holds `open` (order key -> [version, promised, region, channel]:
what the rollup needs to apply each order once, newest version winning) and `due`:
the same open orders as a sorted list of promise times per ``region|channel``.
Counting reads `due` only (a projection): open is the list's length and overdue a
binary search for `now`, so the live page does not parse every open order of every
store at every refresh.

A store's open orders are spread over `BACKLOG_SHARDS` documents by order key
(`backlog_shard_id`), so a page rewrites only the shards its orders fall in: one
document per store held every open order (~40 KB at 800 open orders after 5 minutes
at 5,000 events/s) and was written back whole for each page that touched one of them.
A store that already has its one document (written before the shards) keeps it:
every order of a store is in exactly one form, so nothing is counted twice.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from shared.engine.orders import order_facts
from shared.kpis.state import CHAIN_KEY, Scope
from shared.rollups.keys import BACKLOG_IDS, ROLLUPS_CONTAINER, backlog_id, backlog_shard_id
from shared.stores.port import Document, DocumentStore
from shared.stores.updates import update_documents

__all__ = [
    "GROUP",
    "Backlog",
    "apply_orders_to_backlog",
    "backlog_documents",
    "count_backlog",
    "count_backlog_of",
    "due_of",
]

Backlog = dict[str, tuple[int, int]]
"""(open, overdue) per member of a scope."""

_COUNTED_FIELDS = ("id", "store_id", "due")
GROUP = 16
"""Stores whose promise lists a count holds at once (`count_backlog_of`)."""


def apply_orders_to_backlog(store: DocumentStore, orders: Iterable[Mapping[str, Any]]) -> int:
    """Add open orders to their store's backlog and drop completed or cancelled ones; return writes."""
    orders = list(orders)
    stores = {order["store_id"] for order in orders}
    whole = store.read_many(ROLLUPS_CONTAINER, [(backlog_id(s), backlog_id(s)) for s in sorted(stores)])
    by_doc: dict[str, list[Mapping[str, Any]]] = {}
    store_of: dict[str, str] = {}
    for order in orders:
        store_id = order["store_id"]
        doc_id = backlog_id(store_id) if backlog_id(store_id) in whole else backlog_shard_id(store_id, order["key"])
        by_doc.setdefault(doc_id, []).append(order)
        store_of[doc_id] = store_id

    def update(doc_id: str, existing: Document | None) -> Document:
        store_id = store_of[doc_id]
        open_orders: dict[str, Any] = dict(existing["open"]) if existing else {}
        due: _Due | None = _Due(existing.get("due") if existing else {}, open_orders)
        for order in by_doc[doc_id]:
            known = open_orders.get(order["key"])
            if known is not None and known[0] > order["v"]:
                continue
            if known is not None and due is not None and not due.remove(known):
                due = None
            facts = order_facts([tuple(s) for s in order["statuses"]])
            if facts.is_open:
                latest = facts.latest  # the current promise and the store segment it is counted in
                entry = [order["v"], latest[2] // 1000, latest[5], latest[6]]
                open_orders[order["key"]] = entry
                if due is not None:
                    due.add(entry)
            else:
                open_orders.pop(order["key"], None)
        return {
            "id": doc_id,
            "pk": doc_id,
            "view": "backlog",
            "store_id": store_id,
            "open": open_orders,
            "due": due_of(open_orders) if due is None else due.lists,  # None: `due` disagreed with `open`
        }

    keys = {doc_id: doc_id for doc_id in by_doc}  # a backlog document is its own partition
    return update_documents(store, ROLLUPS_CONTAINER, keys, update, keep=False).count


def due_of(open_orders: Mapping[str, Any]) -> dict[str, list[int]]:
    """Promise times per ``region|channel``, sorted, of `open` entries."""
    lists: dict[str, list[int]] = {}
    for _version, promised, region, channel in open_orders.values():
        lists.setdefault(f"{region}|{channel}", []).append(int(promised))
    for promised_list in lists.values():
        promised_list.sort()
    return lists


def backlog_documents(
    store: DocumentStore, store_ids: Collection[str] | None = None, id_range: tuple[str, str] = BACKLOG_IDS
) -> list[Document]:
    """The backlog documents of `store_ids` (None: every store) with what `count_backlog` reads.

    One query over the backlog's id range (or the part `id_range` of it) for `id`,
    `store_id` and `due` (on the embedded store an index range, and SQLite builds the
    projection); a document written before `due` existed is read whole, once, for its
    `open` orders.
    """
    docs = store.query(
        ROLLUPS_CONTAINER, where={"view": "backlog"}, where_range={"pk": id_range}, fields=_COUNTED_FIELDS
    )
    if store_ids is not None:
        docs = [doc for doc in docs if doc["store_id"] in store_ids]
    before_due = [doc["id"] for doc in docs if doc.get("due") is None]
    if before_due:
        whole = store.read_many(ROLLUPS_CONTAINER, [(doc_id, doc_id) for doc_id in before_due])
        docs = [whole.get(doc["id"], doc) for doc in docs]
    return docs


def count_backlog(docs: Iterable[Mapping[str, Any]], scope: Scope, now_ms: int) -> Backlog:
    """(open, overdue) per member of `scope`: an order is overdue once its promise is before `now_ms`."""
    out: Backlog = {}
    _count_into(out, docs, scope, now_ms)
    return out


def count_backlog_of(
    store: DocumentStore,
    store_ids: Collection[str],
    scopes: Iterable[Scope],
    now_ms: int,
    *,
    group: int = GROUP,
    every_store: bool = False,
) -> dict[Scope, Backlog]:
    """`count_backlog` of each of `scopes` over the backlogs of `store_ids`, read `group` stores at a time.

    The backlog's id range is cut at every `group`-th store of `store_ids` (sorted): the
    parts are disjoint and cover it, so each document is counted once whichever part
    holds it, and only one part's promise lists are held at a time. `every_store`: count
    every store's backlog (those outside `store_ids` too); `store_ids` only say where to cut.
    """
    wanted = set(store_ids)
    cuts = [f"{BACKLOG_IDS[0]}{store_id}" for store_id in sorted(wanted)[group::group]]
    out: dict[Scope, Backlog] = {scope: {} for scope in scopes}
    for id_range in zip([BACKLOG_IDS[0], *cuts], [*cuts, BACKLOG_IDS[1]], strict=True):
        docs = backlog_documents(store, None if every_store else wanted, id_range)
        for scope, counted in out.items():
            _count_into(counted, docs, scope, now_ms)
        del docs
    return out


def _count_into(out: Backlog, docs: Iterable[Mapping[str, Any]], scope: Scope, now_ms: int) -> None:
    for doc in docs:
        due = doc.get("due")
        for group, promised in (due_of(doc.get("open") or {}) if due is None else due).items():
            region, channel = group.split("|")
            member = {"store": doc["store_id"], "region": region, "channel": channel, "chain": CHAIN_KEY}[scope]
            opened, overdue = out.get(member, (0, 0))
            out[member] = (opened + len(promised), overdue + bisect_left(promised, now_ms))


class _Due:
    """A backlog's sorted promise lists, changed order by order; copies only the lists it touches."""

    __slots__ = ("_copied", "lists")

    def __init__(self, lists: Mapping[str, list[int]] | None, open_orders: Mapping[str, Any]) -> None:
        # A document written before `due` existed (None) gets it from its open orders.
        self.lists: dict[str, list[int]] = dict(lists) if lists is not None else due_of(open_orders)
        self._copied: set[str] = set() if lists is not None else set(self.lists)

    def add(self, entry: list[Any]) -> None:
        insort(self._own(f"{entry[2]}|{entry[3]}"), int(entry[1]))

    def remove(self, entry: list[Any]) -> bool:
        """Take `entry`'s promise out; False if it is not there (then rebuild from `open`)."""
        group, value = f"{entry[2]}|{entry[3]}", int(entry[1])
        promised = self._own(group)
        at = bisect_left(promised, value)
        if at == len(promised) or promised[at] != value:
            return False
        del promised[at]
        if not promised:
            del self.lists[group]  # as `due_of` builds it: no empty list
        return True

    def _own(self, group: str) -> list[int]:
        promised = self.lists.get(group)
        if promised is None or group not in self._copied:
            promised = self.lists[group] = list(promised or [])
            self._copied.add(group)
        return promised
