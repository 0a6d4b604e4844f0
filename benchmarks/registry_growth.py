"""Event-id registry creates per second as the registry grows, this checkout beside a baseline.

`python -m benchmarks registry [--events N] [--baseline DIR]`: each checkout runs in a
process of its own, at the same time (one core each), creating real registry entries
(`shared.engine.event_ids`: the digest, masked copy and content digest of a txn body)
through `SqliteDocumentStore.write_many`, 200 per batch as a live batch does, into a
fresh store file, and reports creates/s for every `STEP` entries. The registry is one
insert per event at a random place of its index: on the embedded store its speed falls
as that index outgrows the page cache, which is what this measures (issue 14).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["run"]

ROOT = Path(__file__).resolve().parent.parent
STEP = 250_000
BATCH = 200
_BODY = (
    b'{"event_id":"e","store_id":"S001","amount":12.34,"customer_id":"C123","lines":[{"product_id":"P00001",'
    b'"quantity":2,"unit_price":3.1},{"product_id":"P00002","quantity":1,"unit_price":6.14}]}'
)


def run(events: int, baseline: Path | None) -> None:
    """Print creates/s per `STEP` entries for this checkout (and `baseline`), with the ratio."""
    from benchmarks._common import print_table  # here: the children run this file as a script

    codes = [("this checkout", ROOT)] + ([("baseline", baseline)] if baseline else [])
    step = min(STEP, events)
    with tempfile.TemporaryDirectory(prefix="pulse-registry-") as tmp:
        children = [
            subprocess.Popen(
                [sys.executable, __file__, str(code), str(events), str(step), str(Path(tmp) / f"{n}.db")],
                stdout=subprocess.PIPE,
                text=True,
            )
            for n, (_, code) in enumerate(codes)
        ]
        results = []
        for (name, _), child in zip(codes, children, strict=True):
            out, _ = child.communicate(timeout=7200)
            if child.returncode != 0:
                raise RuntimeError(f"the {name} run failed (exit {child.returncode})")
            results.append(json.loads(out.strip().splitlines()[-1]))
    rows = []
    for i, ours in enumerate(results[0]["rates"]):
        row: list[object] = [f"{(i + 1) * step:,}", f"{ours:,.0f}"]
        if baseline:
            base = results[1]["rates"][i]
            row += [f"{base:,.0f}", f"{ours / base:.2f}x"]
        rows.append(tuple(row))
    header = ("entries so far", "this checkout creates/s")
    if baseline:
        header += ("baseline creates/s", "ratio")
    print_table(
        f"Event-id registry creates as it grows, {events:,} entries in {BATCH}-entry batches, embedded store "
        f"(each checkout in its own process, run at the same time)",
        header,
        rows,
    )
    sizes = ", ".join(f"{name} {r['file_mb']:,.0f} MB" for (name, _), r in zip(codes, results, strict=True))
    print(f"Store files at the end: {sizes}.")


def _child(code: Path, events: int, step: int, path: str) -> None:
    sys.path.insert(0, str(code))
    from shared.engine.event_ids import Claimant, _entry, _owner_of, registry_id  # the checkout's own code
    from shared.stores import SqliteDocumentStore, WriteOp

    rng, rates, done = random.Random(1), [], 0
    with SqliteDocumentStore(path) as store:
        mark = time.perf_counter()
        while done < events:
            ops = []
            for n in range(BATCH):
                event_id = f"{rng.random()}"
                owner = _owner_of(Claimant(event_id, f"0:{done + n}", _BODY, "2026-12-03T08:00:00Z"))
                ops.append(WriteOp.create(_entry(registry_id("txn", event_id), owner, 777_600)))
            store.write_many("eventids", ops)
            done += BATCH
            if done % step == 0:
                now = time.perf_counter()
                rates.append(step / (now - mark))
                mark = now
                print(f"{code}: {done:,} entries, {rates[-1]:,.0f} creates/s", file=sys.stderr, flush=True)
    print(json.dumps({"rates": rates, "file_mb": os.path.getsize(path) / 1e6}))


if __name__ == "__main__":
    _child(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
