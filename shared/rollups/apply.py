"""Apply edges to rollup documents: replace the child's part if it is newer, re-sum, write once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.engine.documents import STATE_VERSION
from shared.rollups.cascade import Edge
from shared.rollups.keys import ROLLUPS_CONTAINER, RollupKey
from shared.rollups.segments import merge_segments
from shared.stores.port import Document, DocumentStore, TransientStoreError, WriteOp

__all__ = ["apply_edges"]

_MAX_ATTEMPTS = 8


def apply_edges(store: DocumentStore, edges: Iterable[Edge]) -> tuple[list[Document], int]:
    """Apply `edges`; return the parent documents (new or current versions) and the writes made.

    Parents that did not change are returned too: after a crash between two levels, a
    replayed page finds the lower level already written and must still cascade upward.
    """
    by_parent: dict[str, tuple[RollupKey, list[Edge]]] = {}
    for edge in edges:
        by_parent.setdefault(edge.parent.id, (edge.parent, []))[1].append(edge)
    pending = list(by_parent)
    changed: list[Document] = []
    unchanged: list[Document] = []
    for _ in range(_MAX_ATTEMPTS):
        current = store.read_many(ROLLUPS_CONTAINER, [(by_parent[i][0].pk, i) for i in pending])
        ops: list[WriteOp] = []
        for doc_id in pending:
            key, parent_edges = by_parent[doc_id]
            existing = current.get(doc_id)
            updated = _apply(existing, key, parent_edges)
            if updated is not None:
                ops.append(WriteOp.replace(updated, existing["_etag"]) if existing else WriteOp.create(updated))
            elif existing is not None:
                unchanged.append(existing)
        results = store.write_many(ROLLUPS_CONTAINER, ops)
        losers = set()
        for op, result in zip(ops, results, strict=True):
            if result.ok:
                changed.append(op.doc)
            else:
                losers.add(op.doc["id"])
        pending = [i for i in pending if i in losers]
        if not pending:
            return changed + unchanged, len(changed)
    raise TransientStoreError(f"{len(pending)} rollup documents still contended after {_MAX_ATTEMPTS} attempts")


def _apply(existing: Mapping[str, Any] | None, key: RollupKey, edges: list[Edge]) -> Document | None:
    children: dict[str, Any] = dict(existing["children"]) if existing else {}
    dirty = False
    for edge in edges:
        known = children.get(edge.child)
        if known is not None and known["v"] >= edge.version:
            continue  # an older or the same version of that child: already counted
        children[edge.child] = {"v": edge.version, "as_of": edge.as_of, "segments": edge.segments}
        dirty = True
    if not dirty:
        return None
    stamps = [c["as_of"] for c in children.values() if c.get("as_of")]
    return {
        "id": key.id,
        "pk": key.pk,
        "scope": key.scope,
        "key": key.key,
        "grain": key.grain,
        "window": key.window,
        "state_version": STATE_VERSION,
        "v": (existing["v"] if existing else 0) + 1,
        "as_of": max(stamps) if stamps else None,
        "children": children,
        "segments": merge_segments(c["segments"] for c in children.values()),
    }
