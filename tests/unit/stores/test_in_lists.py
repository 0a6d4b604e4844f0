"""Key lists of any length share a few prepared statements (`shared/stores/_sqlite_in.py`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from shared.stores import SqliteDocumentStore, WriteOp
from shared.stores._sqlite_in import IN_LIST_MAX, IN_SIZES, in_list
from shared.topology import EVENT_IDS_CONTAINER


def test_a_list_is_padded_with_its_last_value_to_the_next_size() -> None:
    assert in_list(["a"]) == ("?", ["a"])
    assert in_list(["a", "b", "c"]) == ("?,?,?,?", ["a", "b", "c", "c"])
    marks, values = in_list(list(range(257)))
    assert marks.count("?") == len(values) == IN_LIST_MAX and set(values) == set(range(257))
    assert {in_list(list(range(n)))[0] for n in range(1, IN_LIST_MAX + 1)} == {",".join("?" * s) for s in IN_SIZES}
    for count in (0, IN_LIST_MAX + 1):
        with pytest.raises(ValueError, match="an IN list holds"):
            in_list(list(range(count)))


def test_reads_and_creates_of_every_length_prepare_a_few_statements_and_find_exactly_their_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts: set[str] = set()

    class Counting(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            texts.add(sql)
            return super().execute(sql, *args)

    connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: connect(*a, factory=Counting, **k))
    with SqliteDocumentStore(tmp_path / "pulse.db") as store:
        store.write_many("views", [WriteOp.upsert({"id": f"d{i}", "pk": "s"}) for i in range(600)])
        for n in range(1, IN_LIST_MAX + 2):
            keys = [("s", f"d{i}") for i in range(599 - n, 599)] + [("s", "missing")]
            assert sorted(store.read_many("views", keys)) == sorted(doc_id for _, doc_id in keys[:-1])
        created = 0
        for n in (1, 3, 5, 9, 17, 33, 65, 129, 257, 300, IN_LIST_MAX, IN_LIST_MAX + 1):
            ids = [f"txn|{created + i:032x}" for i in range(n)]
            taken = [f"txn|{i:032x}" for i in range(min(created, 2))]  # already registered: conflicts
            results = store.write_many(EVENT_IDS_CONTAINER, [WriteOp.create({"id": k, "pk": k}) for k in taken + ids])
            assert [r.outcome for r in results] == ["conflict"] * len(taken) + ["ok"] * n
            found = store.read_many(EVENT_IDS_CONTAINER, [(k, k) for k in [*ids, "txn|absent"]])
            assert sorted(found) == sorted(ids)
            created += n
    in_texts = {text for text in texts if " IN (" in text}
    # one text per size for each of: views' read_many, the registry's read_many, the registry's create lookup
    assert len(in_texts) <= 3 * len(IN_SIZES), len(in_texts)
