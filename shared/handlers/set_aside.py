"""A store that keeps one container's writes aside: a replay learns which letters failed again without
writing them as new dead letters (a crash can then leave no stray letter behind)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from shared.stores.port import ChangeFeedPage, Document, DocumentStore, Scalar, WriteOp, WriteResult

__all__ = ["SetAsideStore"]


class SetAsideStore(DocumentStore):
    """Delegates to `inner`, except `write_many` to `container`: those documents land in `kept`."""

    def __init__(self, inner: DocumentStore, container: str) -> None:
        self._inner = inner
        self._container = container
        self.kept: list[Document] = []

    def take(self) -> list[Document]:
        """The documents set aside since the last call."""
        kept, self.kept = self.kept, []
        return kept

    def read(self, container: str, pk: str, id: str) -> Document | None:
        return self._inner.read(container, pk, id)

    def read_many(self, container: str, keys: Sequence[tuple[str, str]]) -> dict[str, Document]:
        return self._inner.read_many(container, keys)

    def create(self, container: str, doc: Document) -> Document:
        return self._inner.create(container, doc)

    def replace(self, container: str, doc: Document, if_match: str) -> Document:
        return self._inner.replace(container, doc, if_match)

    def upsert(self, container: str, doc: Document) -> Document:
        return self._inner.upsert(container, doc)

    def delete(self, container: str, pk: str, id: str, if_match: str | None = None) -> None:
        self._inner.delete(container, pk, id, if_match)

    def write_many(self, container: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        if container != self._container:
            return self._inner.write_many(container, ops)
        self.kept.extend(op.doc for op in ops)
        return [WriteResult("ok", op.doc) for op in ops]

    def query(
        self,
        container: str,
        *,
        pk: str | None = None,
        where: Mapping[str, Scalar] | None = None,
        where_range: Mapping[str, tuple[Scalar | None, Scalar | None]] | None = None,
        order_by: str | None = None,
        limit: int | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[Document]:
        return self._inner.query(
            container, pk=pk, where=where, where_range=where_range, order_by=order_by, limit=limit, fields=fields
        )

    def change_feed(self, container: str, continuation: str | None, max_items: int = 1000) -> ChangeFeedPage:
        return self._inner.change_feed(container, continuation, max_items)
