"""Micro-benchmark of the document stores: ``python -m shared.stores.bench``.

Prints documents per second for the embedded store (write_many create / ETag replace /
upsert, read_many, change feed) and, with ``--npm`` (starts `@vercel/cosmosdb-server`)
or ``--cosmos URL`` (a running one, e.g. ``cosmos://127.0.0.1:8081?emulator=npm``),
for the Cosmos adapter: write_many sequential vs threaded, and each read_many strategy.
The npm server is a single-threaded JavaScript stand-in: its figures show adapter and
client overhead, not Cosmos DB throughput.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from shared.stores.embedded import SqliteDocumentStore
from shared.stores.port import Document, DocumentStore, WriteOp

__all__ = ["main", "view_doc"]


def view_doc(i: int, stores: int = 60) -> Document:
    """A base-view document shaped like the engine's (counters, sums, applied sequence numbers)."""
    return {
        "id": f"txn|store-{i % stores}|2024-05-01T10:{i // stores % 60:02d}|{i}",
        "pk": f"store-{i % stores}",
        "view": "store_minute_sales",
        "window": f"2024-05-01T10:{i // stores % 60:02d}",
        "state_version": 1,
        "orders": i % 17,
        "units": i % 31,
        "gross_cents": i * 129,
        "net_cents": i * 117,
        "applied": {"pulse-txn/3": 1_000 + i},
    }


def _rate(count: int, run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return count / (time.perf_counter() - started)


def _batches(ops: list[WriteOp], size: int) -> Iterator[list[WriteOp]]:
    for start in range(0, len(ops), size):
        yield ops[start : start + size]


def bench_embedded(docs: int, batch: int) -> list[tuple[str, float]]:
    """Rows of (operation, docs/s) for `SqliteDocumentStore` in a temporary file."""
    with tempfile.TemporaryDirectory() as folder, SqliteDocumentStore(Path(folder) / "bench.db") as store:
        bodies = [view_doc(i) for i in range(docs)]
        stored: list[Document] = []

        def create() -> None:
            for chunk in _batches([WriteOp.create(b) for b in bodies], batch):
                stored.extend(r.doc for r in store.write_many("views", chunk) if r.doc is not None)

        def replace() -> None:
            ops = [WriteOp.replace({**d, "orders": d["orders"] + 1}, d["_etag"]) for d in stored]
            for chunk in _batches(ops, batch):
                store.write_many("views", chunk)

        def upsert() -> None:
            for chunk in _batches([WriteOp.upsert(b) for b in bodies], batch):
                store.write_many("views", chunk)

        def read_many() -> None:
            keys = [(b["pk"], b["id"]) for b in bodies]
            for start in range(0, len(keys), batch):
                store.read_many("views", keys[start : start + batch])

        def feed() -> None:
            token = None
            while page := store.change_feed("views", token, max_items=batch):
                if not page.docs:
                    return
                token = page.continuation

        return [
            (f"embedded write_many create ({batch}/batch)", _rate(docs, create)),
            (f"embedded write_many replace+ETag ({batch}/batch)", _rate(docs, replace)),
            (f"embedded write_many upsert ({batch}/batch)", _rate(docs, upsert)),
            (f"embedded read_many ({batch}/call)", _rate(docs, read_many)),
            (f"embedded change_feed ({batch}/page)", _rate(docs, feed)),
        ]


def bench_cosmos(open_cosmos: Callable[..., DocumentStore], docs: int, batch: int) -> list[tuple[str, float | str]]:
    """Rows of (operation, docs/s or the error) for the Cosmos adapter; `open_cosmos(**options)` opens a fresh db."""
    rows: list[tuple[str, float | str]] = []
    bodies = [view_doc(i) for i in range(docs)]
    keys = [(b["pk"], b["id"]) for b in bodies]
    for threads in (1, 8):
        with open_cosmos(write_concurrency=threads) as store:
            rows.append(
                _attempt(f"cosmos write_many upsert, {threads} thread(s)", docs, _upserts(store, bodies, batch))
            )
    for strategy in ("read_items", "query", "point_reads"):
        with open_cosmos(read_many=strategy) as store:
            store.write_many("views", [WriteOp.upsert(b) for b in bodies])
            rows.append(_attempt(f"cosmos read_many {strategy} ({batch}/call)", docs, _reads(store, keys, batch)))
    return rows


def _upserts(store: DocumentStore, bodies: list[Document], batch: int) -> Callable[[], object]:
    def run() -> None:
        for chunk in _batches([WriteOp.upsert(b) for b in bodies], batch):
            store.write_many("views", chunk)

    return run


def _reads(store: DocumentStore, keys: list[tuple[str, str]], batch: int) -> Callable[[], object]:
    def run() -> None:
        for start in range(0, len(keys), batch):
            store.read_many("views", keys[start : start + batch])

    return run


def _attempt(name: str, count: int, run: Callable[[], object]) -> tuple[str, float | str]:
    try:
        return name, _rate(count, run)
    except Exception as exc:  # a benchmark reports a failing variant instead of stopping
        return name, f"failed: {str(exc).splitlines()[0][:80]}"


@contextlib.contextmanager
def _cosmos_opener(url: str | None, start_npm: bool) -> Iterator[Callable[..., DocumentStore] | None]:
    if url is None and not start_npm:
        yield None
        return
    import uuid

    from shared.stores.cosmos import CosmosDocumentStore
    from shared.stores.cosmos_auth import EMULATOR_KEY
    from shared.stores.cosmos_options import CosmosOptions
    from shared.stores.npm_emulator import run_cosmosdb_server

    with contextlib.ExitStack() as stack:
        endpoint = stack.enter_context(run_cosmosdb_server()) if start_npm else _npm_endpoint(url or "")

        def opener(**options: Any) -> DocumentStore:
            settings = dataclasses.replace(CosmosOptions.for_npm_server(), **options)
            return CosmosDocumentStore(
                endpoint, f"bench-{uuid.uuid4().hex[:8]}", credential=EMULATOR_KEY, options=settings
            )

        yield opener


def _npm_endpoint(url: str) -> str:
    if not url.startswith("cosmos://") or "emulator=npm" not in url:
        raise SystemExit("--cosmos takes cosmos://host:port?emulator=npm (the bench targets the npm server)")
    return "http://" + url.removeprefix("cosmos://").split("?")[0].rstrip("/") + "/"


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a markdown table."""
    parser = argparse.ArgumentParser(prog="python -m shared.stores.bench", description=__doc__)
    parser.add_argument("--docs", type=int, default=100_000, help="documents for the embedded runs")
    parser.add_argument("--batch", type=int, default=1_000, help="ops per write_many / keys per read_many")
    parser.add_argument("--cosmos", help="a running npm server, cosmos://127.0.0.1:PORT?emulator=npm")
    parser.add_argument("--npm", action="store_true", help="start @vercel/cosmosdb-server for the Cosmos runs")
    parser.add_argument("--cosmos-docs", type=int, default=2_000, help="documents for the Cosmos runs")
    args = parser.parse_args(argv)

    rows: list[tuple[str, float | str]] = list(bench_embedded(args.docs, args.batch))
    with _cosmos_opener(args.cosmos, args.npm) as opener:
        if opener is not None:
            rows += bench_cosmos(opener, args.cosmos_docs, min(args.batch, args.cosmos_docs))
    print("| operation | docs/s |\n| --- | ---: |")
    for name, rate in rows:
        print(f"| {name} | {rate if isinstance(rate, str) else f'{rate:,.0f}'} |")


if __name__ == "__main__":
    main()
