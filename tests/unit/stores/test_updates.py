"""`update_documents`: one read, one conditional write per changed document, losers of a race redone."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from shared.stores import Document, SqliteDocumentStore, TransientStoreError, WriteOp
from shared.stores.updates import update_documents


@pytest.fixture
def store(tmp_path: Path) -> SqliteDocumentStore:
    with SqliteDocumentStore(tmp_path / "pulse.db") as opened:
        opened.write_many("views", [WriteOp.create({"id": i, "pk": "p", "n": 1}) for i in ("a", "same")])
        yield opened  # type: ignore[misc]


def _bump(doc_id: str, current: Document | None) -> Document:
    return {"id": doc_id, "pk": "p", "n": (current["n"] if current else 0) + 1}


def test_a_lost_race_is_redone_on_the_newest_version_and_the_winners_are_not_touched_again(
    store: SqliteDocumentStore,
) -> None:
    calls: Counter[str] = Counter()

    def update(doc_id: str, current: Document | None) -> Document | None:
        calls[doc_id] += 1
        if doc_id == "same":
            return None  # nothing to change here
        if doc_id == "a" and calls["a"] == 1:  # another writer gets in between our read and our write
            (result,) = store.write_many("views", [WriteOp.replace(_bump("a", current), current["_etag"])])  # type: ignore[index]
            assert result.ok
        return _bump(doc_id, current)

    done = update_documents(store, "views", {"a": "p", "new": "p", "same": "p"}, update)

    assert store.read("views", "p", "a")["n"] == 3  # type: ignore[index]  # 1, +1 by the other writer, +1 by us
    assert store.read("views", "p", "new")["n"] == 1  # type: ignore[index]
    assert calls == {"a": 2, "new": 1, "same": 1}
    assert sorted(d["id"] for d in done.written) == ["a", "new"]
    assert [d["id"] for d in done.unchanged] == ["same"]


def test_documents_still_contended_after_every_attempt_raise_and_the_winners_stay_written(
    store: SqliteDocumentStore,
) -> None:
    def update(doc_id: str, current: Document | None) -> Document:
        if doc_id == "a":  # someone always writes first
            store.write_many("views", [WriteOp.replace(_bump("a", current), current["_etag"])])  # type: ignore[index]
        return _bump(doc_id, current)

    with pytest.raises(TransientStoreError, match="views: 1 documents still contended after 3 attempts"):
        update_documents(store, "views", {"a": "p", "new": "p"}, update, attempts=3)
    assert store.read("views", "p", "new")["n"] == 1  # type: ignore[index]
    assert store.read("views", "p", "a")["n"] == 4  # type: ignore[index]  # only the other writer's three bumps


class _Counting:
    """The store, with the ids of each `read_many` recorded."""

    def __init__(self, store: SqliteDocumentStore) -> None:
        self._store = store
        self.reads: list[int] = []

    def read_many(self, container: str, keys: list[tuple[str, str]]) -> dict[str, Document]:
        self.reads.append(len(keys))
        return self._store.read_many(container, keys)

    def write_many(self, container: str, ops: list[WriteOp]) -> list[Any]:
        return self._store.write_many(container, ops)


def test_documents_go_a_chunk_at_a_time_and_write_what_one_pass_writes(store: SqliteDocumentStore) -> None:
    keys = {f"d{n:02d}": "p" for n in range(11)} | {"a": "p", "same": "p"}
    counting = _Counting(store)

    def update(doc_id: str, current: Document | None) -> Document | None:
        return None if doc_id == "same" else _bump(doc_id, current)

    done = update_documents(counting, "views", keys, update, chunk=4)  # type: ignore[arg-type]
    assert counting.reads == [4, 4, 4, 1]  # never more than a chunk read at once
    assert done.count == 12 and len(done.written) == 12 and [d["id"] for d in done.unchanged] == ["same"]
    assert store.read("views", "p", "a")["n"] == 2 and store.read("views", "p", "d10")["n"] == 1  # type: ignore[index]

    counting.reads.clear()
    kept_nothing = update_documents(counting, "views", keys, update, chunk=100, keep=False)  # type: ignore[arg-type]
    assert counting.reads == [13]
    assert kept_nothing.count == 12 and kept_nothing.written == [] and kept_nothing.unchanged == []
    assert store.read("views", "p", "a")["n"] == 3  # type: ignore[index]
