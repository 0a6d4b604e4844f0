"""Apply edges to rollup documents: replace the child's part if it is newer, re-sum, write once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.engine.documents import STATE_VERSION
from shared.rollups.cascade import Edge
from shared.rollups.keys import ROLLUPS_CONTAINER, RollupKey
from shared.rollups.segments import merge_segments
from shared.stores.port import Document, DocumentStore
from shared.stores.updates import update_documents

__all__ = ["apply_edges"]


def apply_edges(store: DocumentStore, edges: Iterable[Edge]) -> tuple[list[Document], int]:
    """Apply `edges`; return the parent documents (new or current versions) and the writes made.

    Parents that did not change are returned too: after a crash between two levels, a
    replayed page finds the lower level already written and must still cascade upward.
    """
    by_parent: dict[str, tuple[RollupKey, list[Edge]]] = {}
    for edge in edges:
        by_parent.setdefault(edge.parent.id, (edge.parent, []))[1].append(edge)

    def update(doc_id: str, current: Document | None) -> Document | None:
        key, parent_edges = by_parent[doc_id]
        return _apply(current, key, parent_edges)

    done = update_documents(store, ROLLUPS_CONTAINER, {i: key.pk for i, (key, _) in by_parent.items()}, update)
    return done.written + done.unchanged, len(done.written)


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
