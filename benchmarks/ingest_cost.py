"""One measured run of the whole ingest path and its rollups, printed as one JSON line.

Run as a script so that the same measurement can load another checkout's code (the
baseline): ``python benchmarks/ingest_cost.py --code <checkout> --scale 250 ...``.
It imports only what every version of the engine has had (the generator, the
pipeline, the embedded store, the rollup handler), so a checkout of main measures
main. Writes are counted per kind and their JSON sizes kept, so RU can be estimated
from the measured document sizes (see `ru_of_write`). Times are wall and process CPU
(the CPU time is the steadier figure on a shared machine: it leaves out waiting for a core).

Kinds: ``primary`` (the base-view and order documents events are applied to),
``registry`` (event-id registry entries), ``bookkeeping`` (flow, audit, progress,
dead letters) and ``rollup`` (every rollup level and the backlog; counted by level as
well, ``store minute`` ... ``chain day`` and ``backlog``, in ``rollup_levels``, with their JSON bytes in
``rollup_level_bytes``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import islice, pairwise
from pathlib import Path
from typing import Any

__all__ = ["RU_BY_KB", "measure", "ru_of_write"]

RU_BY_KB = ((1, 4.95), (2, 6.29), (4, 6.67), (8, 7.04), (16, 9.52), (32, 11.23), (64, 22.67), (128, 48.19))
"""Write RU by document size in KB, from Microsoft's table (learn.microsoft.com/azure/cosmos-db/
understand-request-unit-consumption, "Document size"); linear in between, and per KB past 128 KB."""


def ru_of_write(size_bytes: int) -> float:
    """Estimated RU of writing one document of `size_bytes` (default indexing of a few properties)."""
    kb = size_bytes / 1024
    if kb <= RU_BY_KB[0][0]:
        return RU_BY_KB[0][1]
    for (lo, lo_ru), (hi, hi_ru) in pairwise(RU_BY_KB):
        if kb <= hi:
            return lo_ru + (hi_ru - lo_ru) * (kb - lo) / (hi - lo)
    return RU_BY_KB[-1][1] * kb / RU_BY_KB[-1][0]


def _level(doc_id: str) -> str:
    """A rollup document's level: ``<scope> <grain>`` of a KPI document (``kpi|scope|key|grain|window``), else
    the first part of its id (``backlog``)."""
    parts = doc_id.split("|")
    return f"{parts[1]} {parts[3]}" if parts[0] == "kpi" and len(parts) >= 5 else parts[0]


def _kind(container: str, doc_id: str) -> str:
    if container == "eventids":
        return "registry"
    if container == "rollups":
        return "rollup"
    if container in ("views", "orders") and not doc_id.startswith("flow|"):
        return "primary"
    return "bookkeeping"


class _Counter:
    """Wraps a store's `write_many` to count successful writes, their sizes and the time spent counting."""

    def __init__(self) -> None:
        self.writes: dict[str, int] = {}
        self.ru: dict[str, float] = {}
        self.bytes: dict[str, int] = {}
        self.levels: dict[str, int] = {}
        """Rollup writes by level (`_level`)."""
        self.level_bytes: dict[str, int] = {}
        self.level_ru: dict[str, float] = {}
        self.overhead_s = 0.0

    def wrap(self, store: Any) -> None:
        import orjson

        inner = store.write_many

        def write_many(container: str, ops: Sequence[Any]) -> Any:
            results = inner(container, ops)
            start = time.perf_counter()
            for op, result in zip(ops, results, strict=True):
                if result.ok:
                    kind = _kind(container, op.doc["id"])
                    size = len(orjson.dumps(op.doc))
                    self.writes[kind] = self.writes.get(kind, 0) + 1
                    self.bytes[kind] = self.bytes.get(kind, 0) + size
                    self.ru[kind] = self.ru.get(kind, 0.0) + ru_of_write(size)
                    if kind == "rollup":
                        level = _level(op.doc["id"])
                        self.levels[level] = self.levels.get(level, 0) + 1
                        self.level_bytes[level] = self.level_bytes.get(level, 0) + size
                        self.level_ru[level] = self.level_ru.get(level, 0.0) + ru_of_write(size)
            self.overhead_s += time.perf_counter() - start
            return results

        store.write_many = write_many


def _events(count: int, scale: float) -> list[tuple[str, bytes, int]]:
    from shared.generator import generate

    start = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    return [
        (str(zlib.crc32(e.partition_key.encode()) % 8), e.body, e.event_ms)
        for e in islice(generate("txn", count, seed=42, start=start, scale=scale), count)
    ]


def _ticks(stream: list[tuple[str, bytes, int]], batch_size: int, tick_s: float) -> list[list[list[Any]]]:
    """Per-partition batches of up to `batch_size`, grouped in ticks: with `tick_s`, a tick is `tick_s` of
    event time (a live consumer delivers each partition's messages of one linger); without, one tick."""
    from shared.pipeline.raw import RawEvent

    ticks: list[list[list[Any]]] = [[]]
    buffers: dict[str, list[Any]] = {}
    sequences: dict[str, int] = {}
    tick_ms, tick_end = tick_s * 1000, None
    for partition, body, event_ms in stream:
        if tick_ms and (tick_end is None or event_ms >= tick_end):
            if buffers:
                ticks[-1].extend(buffers.values())
                ticks.append([])
            buffers.clear()
            tick_end = event_ms + tick_ms
        seq = sequences[partition] = sequences.get(partition, -1) + 1
        enqueued = datetime.fromtimestamp(event_ms / 1000, UTC)
        buffers.setdefault(partition, []).append(RawEvent(body, partition, seq, str(seq), enqueued))
        if len(buffers[partition]) >= batch_size:
            ticks[-1].append(buffers.pop(partition))
    ticks[-1].extend(buffers.values())
    return [tick for tick in ticks if tick]


def measure(
    count: int, scale: float, batch_size: int, page_size: int, folder: Path, tick_s: float = 0.0
) -> dict[str, Any]:
    """Ingest `count` txn events at `scale` in batches of `batch_size`, then drain the rollups in pages.

    With `tick_s` (live): batches are cut every `tick_s` of event time as well, and after each
    tick's batches the rollups drain what is new, as a live host does (pages of what changed).
    """
    from shared.bootstrap import DEMO_PII_KEY, build_pipeline
    from shared.stores.embedded import SqliteDocumentStore

    stream = _events(count, scale)
    ticks = _ticks(stream, batch_size, tick_s)
    store = SqliteDocumentStore(folder / f"cost-{scale}-{batch_size}.db")
    pipeline = build_pipeline(store, DEMO_PII_KEY, None)
    counter = _Counter()
    counter.wrap(store)
    accepted = changes = 0
    tokens: dict[str, Any] = {"views": None, "orders": None}
    spent = {"ingest_s": 0.0, "ingest_cpu_s": 0.0, "rollup_s": 0.0, "rollup_cpu_s": 0.0}

    def ingest(part: list[list[Any]]) -> None:
        nonlocal accepted
        for batch in part:
            now = batch[-1].enqueued_time + timedelta(seconds=1)
            accepted += pipeline.ingest("txn", batch, now).accepted

    def drain(now: datetime) -> None:
        nonlocal changes
        for container in tokens:
            while (page := store.change_feed(container, tokens[container], page_size)).docs:
                pipeline.rollup(container, page.docs, now)
                changes += len(page.docs)
                tokens[container] = page.continuation

    def timed(kind: str, fn: Callable[[], None]) -> None:
        counter.overhead_s = 0.0
        cpu = time.process_time()
        spent[f"{kind}_s"] += _timed(fn) - counter.overhead_s
        spent[f"{kind}_cpu_s"] += time.process_time() - cpu - counter.overhead_s

    for tick in ticks:  # live: each tick's batches, then what the feed holds; otherwise all, then all
        now = max(batch[-1].enqueued_time for batch in tick) + timedelta(seconds=1)
        timed("ingest", partial(ingest, tick))
        timed("rollup", partial(drain, now))
    ingest_s, ingest_cpu_s, rollup_s, rollup_cpu_s = (spent[k] for k in spent)
    store.close()
    span_s = (stream[-1][2] - stream[0][2]) / 1000 if stream else 0.0
    return {
        "events": len(stream),
        "accepted": accepted,
        "span_s": span_s,
        "ingest_s": ingest_s,
        "rollup_s": rollup_s,
        "ingest_cpu_s": ingest_cpu_s,
        "rollup_cpu_s": rollup_cpu_s,
        "feed_changes": changes,
        "writes": counter.writes,
        "bytes": counter.bytes,
        "ru": counter.ru,
        "rollup_levels": counter.levels,
        "rollup_level_bytes": counter.level_bytes,
    }


CHAIN_REGIONS, CHAIN_CHANNELS = 20, ("store", "web")


def measure_chain(stores: int, folder: Path, minutes: int = 60) -> dict[str, Any]:
    """The rollups of a chain of `stores` (20 regions, 2 channels) over one hour: each minute, one rollup
    page in which every store's sales minute changes (a busy chain's live page, by the minute)."""
    from shared.handlers.rollup import RollupHandler
    from shared.stores.embedded import SqliteDocumentStore

    store = SqliteDocumentStore(folder / f"chain-{stores}.db")
    counter = _Counter()
    counter.wrap(store)
    handler = RollupHandler(store)
    now = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
    for minute in range(minutes):
        window = f"2026-11-26T10:{minute:02d}:00Z"
        docs = []
        for n in range(stores):
            segment = f"R{n % CHAIN_REGIONS:02d}|{CHAIN_CHANNELS[n % 2]}|2026-11-26"
            counters = {"gross_cents": 1_000 + n, "refund_cents": 0, "sales": 2, "refunds": 0, "voids": 0, "units": 3}
            key = f"S{n:05d}"
            docs.append({"view": "sales", "key": key, "window": window, "v": 1, "as_of": window, "segments": {}})
            docs[-1]["segments"][segment] = counters
        handler("views", docs, now)
    store.close()
    return {
        "stores": stores,
        "pages": minutes,
        "rollup_levels": counter.levels,
        "rollup_level_bytes": counter.level_bytes,
        "rollup_level_ru": counter.level_ru,
    }


def _timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--code", type=Path, required=True, help="checkout whose `shared` package is measured")
    parser.add_argument("--events", type=int, default=0)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--chain-stores", type=int, default=0, help="measure a chain of this many stores instead")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--tick", type=float, default=0.0, help="live: seconds of event time per round (0: batch)")
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    from shared.runtime.gc_tuning import tune_gc_for_throughput

    tune_gc_for_throughput()
    with tempfile.TemporaryDirectory() as tmp:
        if args.chain_stores:
            print(json.dumps(measure_chain(args.chain_stores, Path(tmp))))
            return
        print(json.dumps(measure(args.events, args.scale, args.batch, args.page, Path(tmp), args.tick)))


if __name__ == "__main__":
    main()
