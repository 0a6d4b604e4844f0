"""The cascade a chunk of parents at a time writes the very documents it writes in one pass."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from shared.rollups.apply import apply_edges
from shared.rollups.cascade import Edge
from shared.rollups.keys import ROLLUPS_CONTAINER, RollupKey
from shared.stores import SqliteDocumentStore
from shared.stores.port import Document, WriteOp

REGIONS = ("EAST", "WEST", "NORTH")
CHANNELS = ("store", "online")


def _page(seed: int) -> list[Edge]:
    """Orders' store-minute edges of 40 stores over 12 minutes, some children sent twice at two versions."""
    rng = random.Random(seed)
    edges = []
    for _ in range(600):
        store, minute = rng.randrange(40), rng.randrange(12)
        segment = f"{REGIONS[store % 3]}|{CHANNELS[store % 2]}|2026-11-26"
        window = f"2026-11-26T10:{minute:02d}:00Z"
        edges.append(
            Edge(
                RollupKey("store", f"S{store:03d}", "minute", window),
                f"order:S{store:03d}-{minute}",
                rng.randint(1, 4),
                f"2026-11-26T10:{minute:02d}:{rng.randrange(60):02d}Z",
                {segment: {"sales": rng.randint(1, 9), "gross_cents": rng.randint(100, 99_999)}},
            )
        )
    return edges


class _Counting:
    def __init__(self, store: SqliteDocumentStore) -> None:
        self._store = store
        self.largest_read = 0

    def read_many(self, container: str, keys: list[tuple[str, str]]) -> dict[str, Document]:
        self.largest_read = max(self.largest_read, len(keys))
        return self._store.read_many(container, keys)

    def write_many(self, container: str, ops: list[WriteOp]) -> list[Any]:
        return self._store.write_many(container, ops)


def _cascade(store: Any, edges: list[Edge], chunk: int) -> int:
    written = 0
    while edges:
        edges, count = apply_edges(store, edges, chunk=chunk)
        written += count
    return written


def _documents(store: SqliteDocumentStore) -> dict[str, Document]:
    return {
        d["id"]: {k: v for k, v in d.items() if not k.startswith("_")} for d in store.query(ROLLUPS_CONTAINER, where={})
    }


def test_chunks_of_seven_parents_write_every_level_as_one_pass_does(tmp_path: Path) -> None:
    with SqliteDocumentStore(tmp_path / "one.db") as one, SqliteDocumentStore(tmp_path / "chunked.db") as chunked:
        counting = _Counting(chunked)
        for seed in range(3):  # a second and third page change documents the first wrote
            page = _page(seed)
            assert _cascade(counting, page, chunk=7) == _cascade(one, page, chunk=10_000)
        expected = _documents(one)
        assert {d["grain"] for d in expected.values()} == {"minute", "hour", "day"}
        assert {d["scope"] for d in expected.values()} == {"store", "region", "channel", "chain"}
        assert _documents(chunked) == expected
        assert counting.largest_read == 7
