"""Micro-benchmark of the local runtime: ``python -m shared.runtime.bench [--messages N]``.

Prints log appends/s and end-to-end messages/s through the host with trivial
handlers, cooperative (one thread) next to a 2-worker thread pool, so the choice of
`HostSettings.workers` rests on a measurement. Not a test: figures depend on the box.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson

from shared.handlers.ports import BatchHandler, BatchOutcome, ChangeOutcome
from shared.pipeline.raw import RawEvent
from shared.runtime.checkpoints import CheckpointStore
from shared.runtime.consumer import ConsumerSettings
from shared.runtime.host import HostSettings, LocalHost
from shared.runtime.local_log import LocalLog
from shared.runtime.log_files import open_store_log
from shared.stores.embedded import SqliteDocumentStore
from shared.stores.port import Document, DocumentStore
from shared.topology import Source

__all__ = ["main"]

_NOOP, _WRITE, _DECODE = "no-op handler", "1 store write per batch", "orjson.loads of every body"
_T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
_BODY = (
    b'{"v":1,"type":"txn","event_id":"%08d","store_id":"S%03d","ts":"2026-05-04T09:00:00Z",'
    b'"lines":[{"sku":"SKU-1042","qty":2,"unit_price":"3.49"}],"currency":"EUR","channel":"store"}'
)


def _fill(log: LocalLog, messages: int, chunk: int = 20_000) -> float:
    """Append `messages` txn messages over 64 stores; returns appends per second."""
    began = time.perf_counter()
    for start in range(0, messages, chunk):
        count = min(chunk, messages - start)
        log.append_many("txn", [(f"S{i % 64:03d}", _BODY % (i, i % 64), _T0) for i in range(start, start + count)])
    return messages / (time.perf_counter() - began)


def _noop_ingest(source: Source, raws: Sequence[RawEvent], now: datetime) -> BatchOutcome:
    return BatchOutcome(source, len(raws), len(raws), 0, 0, 0, 0)


def _writing_ingest(store: DocumentStore) -> BatchHandler:
    """One document write per batch, so SQLite (which releases the GIL) and the change feed get work."""

    def ingest(source: Source, raws: Sequence[RawEvent], now: datetime) -> BatchOutcome:
        store.upsert("views", {"id": f"{source}-{raws[0].partition}", "pk": source, "seq": raws[-1].sequence_number})
        return BatchOutcome(source, len(raws), len(raws), 0, 0, 0, 1)

    return ingest


def _decoding_ingest(source: Source, raws: Sequence[RawEvent], now: datetime) -> BatchOutcome:
    """Parses every body: pure-Python-side CPU work that holds the GIL, like the real handler."""
    for raw in raws:
        orjson.loads(raw.body)
    return BatchOutcome(source, len(raws), len(raws), 0, 0, 0, 0)


def _noop_rollup(container: str, docs: Sequence[Document], now: datetime) -> ChangeOutcome:
    return ChangeOutcome(len(docs), 0)


def _end_to_end(
    directory: Path, messages: int, partitions: int, batch: int, workers: int, handler: str
) -> tuple[float, int]:
    """Messages/s of one drained run over a fresh file, and the batches it took."""
    db = directory / f"e2e-{workers}-{handler}.db"
    store = SqliteDocumentStore(db)
    log, checkpoints = open_store_log(store, partitions)[0], CheckpointStore(db)
    try:
        _fill(log, messages)
        ingests: dict[str, BatchHandler] = {
            _NOOP: _noop_ingest,
            _WRITE: _writing_ingest(store),
            _DECODE: _decoding_ingest,
        }
        ingest = ingests[handler]
        settings = HostSettings(
            sources=("txn",), consumer=ConsumerSettings(max_batch_size=batch, max_wait_s=0.0), workers=workers
        )
        host = LocalHost(log, checkpoints, store, ingest, _noop_rollup, clock=lambda: _T0, settings=settings)
        began = time.perf_counter()
        stats = host.run_until_quiet(timeout_s=600)
        elapsed = time.perf_counter() - began
        if stats.checkpointed != messages:
            raise RuntimeError(f"drained {stats.checkpointed} of {messages} messages")
        return messages / elapsed, stats.batches
    finally:
        for closeable in (log, checkpoints, store):
            closeable.close()


def main(argv: Sequence[str] | None = None, emit: Callable[[str], None] = print) -> None:
    """Run the benchmark and print a markdown table."""
    parser = argparse.ArgumentParser(prog="python -m shared.runtime.bench", description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pulse-bench-") as tmp:
        directory = Path(tmp)
        log = LocalLog(directory / "append.db", args.partitions)
        appends = _fill(log, args.messages)
        log.close()
        emit(f"{args.messages:,} messages, {args.partitions} partitions, batches of {args.batch_size}\n")
        emit("| measure | per second |")
        emit("|---|---:|")
        emit(f"| log appends (`append_many`, 20k per transaction) | {appends:,.0f} |")
        for handler in (_NOOP, _WRITE, _DECODE):
            for workers in (1, 2):
                size = (args.messages, args.partitions, args.batch_size)
                rate, batches = _end_to_end(directory, *size, workers, handler)
                mode = "cooperative, 1 thread" if workers == 1 else f"thread pool, {workers} workers"
                emit(f"| end to end, {handler}, {mode} ({batches:,} batches) | {rate:,.0f} |")


if __name__ == "__main__":
    main()
