"""The alert evaluator's cost: rules x scopes evaluated per second of one core.

A synthetic chain of N stores (all open) with rollup documents of the last 90 minutes
and hours (and the same hour last week) in the embedded store; R rules over every store
(thresholds, heartbeats that expect a store busy in the hour before, last-week
anomalies); one evaluation per cycle, CPU time measured with `time.process_time` (one
thread). The target: 500 rules over 1,000 stores every 10 s under 10 % of a core, i.e.
one evaluation under 1 s of CPU. Then one more evaluation with `tracemalloc` on (slower,
so apart from the timed rounds) gives the most memory an evaluation holds at once.
"""

from __future__ import annotations

import tempfile
import time
import tomllib
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import orjson

from benchmarks._common import print_table
from shared.alerts.evaluator import AlertEvaluator
from shared.engine.documents import stamp
from shared.reference.models import Store
from shared.sla.config import SlaConfig, parse_config
from shared.stores.embedded import SqliteDocumentStore
from shared.stores.port import Document, WriteOp

MINUTE, HOUR = "%Y-%m-%dT%H:%M:00Z", "%Y-%m-%dT%H:00:00Z"

__all__ = ["run"]

NOW = datetime(2026, 11, 26, 10, 0, 30, tzinfo=UTC)
INTERVAL_S = 10.0


def _stores(count: int) -> list[Store]:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    return [
        Store(
            f"S{i:05d}",
            f"Store {i}",
            f"R{i % 20:02d}",
            "DE",
            "Europe/Berlin",
            start,
            None,
            opens=clock_time(7, 0),
            closes=clock_time(22, 0),
        )
        for i in range(count)
    ]


def _rollup(store_id: str, grain: str, window: str, sales: int) -> Document:
    counters = {"gross_cents": sales * 3_000, "refund_cents": 0, "sales": sales, "units": sales * 2}
    return {
        "id": f"kpi|store|{store_id}|{grain}|{window}",
        "pk": f"kpi|store|{store_id}|{window[:10]}",
        "scope": "store",
        "key": store_id,
        "grain": grain,
        "window": window,
        "segments": {"R|store|2026-11-26": counters},
        "v": 1,
    }


def _flow(minute: datetime) -> Document:
    window = stamp(minute).replace(".000Z", "Z")
    return {
        "id": f"flow|txn|0|{window}",
        "pk": f"flow|txn|{window[:10]}",
        "view": "flow",
        "source": "txn",
        "key": "txn|0",
        "window": window,
        "segments": {"_": {"received": 100, "accepted": 99, "dead_lettered": 1, "lag_le_1000": 99}},
    }


def _fill(store: SqliteDocumentStore, stores: list[Store]) -> None:
    docs: list[Document] = []
    hour = NOW.replace(minute=0, second=0, microsecond=0)
    for s in stores:
        # the last 90 minutes inside their store hours, as the cascade keeps them (sales parts, minute versions)
        at = [(hour - timedelta(minutes=m)).strftime(MINUTE) for m in range(1, 91)]
        minutes = [_rollup(s.store_id, "minute", window, 2) for window in at]
        for window in sorted({m["window"][:13] for m in minutes}):
            inside = [m for m in minutes if m["window"][:13] == window]
            doc = _rollup(s.store_id, "hour", f"{window}:00:00Z", 2 * len(inside))
            doc["children"] = {f"{m['window']}|sales": orjson.dumps([1, None, m["segments"]]).decode() for m in inside}
            doc["minute_v"] = {m["window"][14:16]: 1 for m in inside}
            docs.append(doc)
        docs.append(_rollup(s.store_id, "hour", (hour - timedelta(days=7, hours=1)).strftime(HOUR), 120))
    for i in range(0, len(docs), 2_000):
        store.write_many("rollups", [WriteOp.upsert(d) for d in docs[i : i + 2_000]])
    store.write_many("views", [WriteOp.upsert(_flow(hour - timedelta(minutes=m))) for m in range(1, 61)])


def _rules(count: int) -> SlaConfig:
    kinds = [
        'kind = "threshold"\nmetric = "net_sales"\nscope = "store"\nover = "{m}m"\nabove = {v}\nclear = {c}',
        'kind = "threshold"\nmetric = "transactions"\nscope = "store"\nover = "{m}m"\nbelow = 0.{m}\nfor = "5m"',
        'kind = "heartbeat"\nscope = "store"\nsilent_for = "{m}m"\nmin_volume = 1',
        'kind = "anomaly"\nmetric = "net_sales"\nscope = "store"\nover = "1h"\ndrop = 0.{m}\nmin_volume = 100',
    ]
    text = "version = 1\n"
    for i in range(count):
        minutes = 5 + i % 4 * 5
        body = kinds[i % len(kinds)].format(m=minutes, v=10_000 + i, c=9_000 + i)
        text += f'\n[[rule]]\nname = "rule-{i:04d}"\n{body}\n'
    return parse_config(tomllib.loads(text))


def run(stores: int = 1_000, rules: int = 500, rounds: int = 3) -> None:
    """Print evaluations per CPU second and the share of a core at one evaluation per 10 s."""
    print(f"Writing the last hour of {stores:,} stores ...")
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteDocumentStore(Path(folder) / "bench.db")
        members = _stores(stores)
        _fill(store, members)
        config = _rules(rules)
        evaluator = AlertEvaluator(store, config, members)
        rows = []
        for round_no in range(1, rounds + 1):
            cpu0 = time.process_time()
            report = evaluator.evaluate(NOW + timedelta(seconds=10 * round_no))
            cpu = time.process_time() - cpu0
            rows.append(
                (
                    round_no,
                    f"{report.evaluated:,}",
                    f"{len(report.transitions):,}",
                    f"{cpu:.3f}",
                    f"{report.evaluated / cpu:,.0f}",
                    f"{100 * cpu / INTERVAL_S:.1f} %",
                )
            )
        peak_mib = _traced_peak_mib(lambda: evaluator.evaluate(NOW + timedelta(seconds=10 * (rounds + 1))))
        store.close()
    print_table(
        f"Alert evaluation, {rules:,} rules over {stores:,} stores, one core (round 1 writes the transitions)",
        ("round", "rule x scope", "transitions", "CPU s", "evaluations / CPU s", "core share at 1 per 10 s"),
        rows,
    )
    print(f"\nPeak memory of one evaluation (tracemalloc, round {rounds + 1}): {peak_mib:.2f} MiB")


def _traced_peak_mib(evaluate: Callable[[], object]) -> float:
    """The most memory `evaluate` held at once above what was held before it, in MiB."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        evaluate()
        return (tracemalloc.get_traced_memory()[1] - before) / 2**20
    finally:
        tracemalloc.stop()
