"""`pulse generate` -> `pulse ingest` (with faults) -> `pulse kpis`, through the installed entry point,
checked against a brute-force recomputation of the same files."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from shared.bootstrap import build_pipeline
from shared.kpis.recompute import recompute
from shared.pipeline.enrichment import Enricher
from shared.pipeline.pii import Pseudonymiser
from shared.pipeline.raw import RawEvent
from shared.pipeline.validation import validate_batch
from shared.reference import demo_reference_dir, load_reference

PULSE = str(Path(sys.executable).with_name("pulse"))
KEY = "e2e-test-key-" + "x" * 32
NOW = "2026-11-26T18:00:00Z"
START = "2026-11-26T06:00:00Z"
SOURCES = {"txn": 4000, "traffic": 3000, "fulfillment": 1500}
FAULTS = "duplicate=0.03,out_of_order=0.05,late=0.02,malformed=0.02"


def pulse(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PII_HMAC_KEY": KEY}
    return subprocess.run([PULSE, *args], capture_output=True, text=True, env=env, check=check, timeout=600)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path], dict[str, Any]]:
    folder = tmp_path_factory.mktemp("e2e")
    db = folder / "pulse.db"
    files, summaries = {}, {}
    for seed, (source, count) in enumerate(SOURCES.items()):
        files[source] = folder / f"{source}.jsonl"
        pulse(
            "generate",
            "--source",
            source,
            "--count",
            str(count),
            "--seed",
            str(seed),
            "--start",
            START,
            "--faults",
            FAULTS,
            "--out",
            str(files[source]),
        )
        result = pulse(
            "ingest",
            "--source",
            source,
            "--db",
            str(db),
            str(files[source]),
            "--now",
            NOW,
            "--batch-size",
            "250",
            "--redeliver-rate",
            "0.2",
            "--crash-rate",
            "0.002",
            "--seed",
            str(seed),
        )
        summaries[source] = orjson.loads(result.stdout)
    return db, files, summaries


def test_nothing_is_lost_per_source(ingested: tuple[Path, dict[str, Path], dict[str, Any]]) -> None:
    _, files, summaries = ingested
    for source, summary in summaries.items():
        lines = files[source].read_bytes().count(b"\n")
        assert summary["received"] == lines
        assert summary["received"] == summary["accepted"] + summary["dead_lettered"] + summary["duplicates"]
        assert summary["duplicates"] > 0 and summary["dead_lettered"] > 0, summary
        assert summary["redeliveries"] > 0, summary


def test_every_kpi_equals_a_recomputation_of_the_files(ingested: tuple[Path, dict[str, Path], dict[str, Any]]) -> None:
    db, files, _ = ingested
    now = datetime.fromisoformat(NOW.replace("Z", "+00:00"))
    enricher = Enricher(load_reference(demo_reference_dir()), Pseudonymiser(KEY.encode()))
    events = []
    for source, path in files.items():
        raws = [RawEvent(line, "0", i) for i, line in enumerate(path.read_bytes().split(b"\n")[:-1])]
        events += enricher.enrich(source, validate_batch(source, raws, now).accepted, now).enriched  # type: ignore[arg-type]
    expected = recompute(events, now)
    compared = 0
    for scope in ("store", "region", "chain", "channel"):
        for grain in ("minute", "hour", "day"):
            rows = orjson.loads(pulse("kpis", "--db", str(db), "--scope", scope, "--grain", grain, "--now", NOW).stdout)
            got = {(r["key"], r["window"]): r for r in rows if _counts(r)}
            want = {(k, w): r for (s, k, g, w), r in expected.items() if s == scope and g == grain and _counts(r)}
            assert got.keys() == want.keys(), (scope, grain)
            for member, row in got.items():
                for name, value in want[member].items():
                    if name in ("as_of", "open_backlog", "overdue_backlog"):
                        continue
                    assert _number(row[name]) == _number(value), (scope, grain, member, name)
                compared += 1
    assert compared > 500


def test_usage_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    cases = [
        ("ingest", "--source", "nope", "--db", str(tmp_path / "x.db"), "missing.jsonl"),
        ("ingest", "--source", "txn", "--db", str(tmp_path / "x.db"), str(tmp_path / "missing.jsonl")),
        ("kpis", "--db", str(tmp_path / "none.db"), "--scope", "store", "--grain", "day"),
        ("kpis", "--db", str(tmp_path / "none.db"), "--scope", "galaxy", "--grain", "day"),
    ]
    for args in cases:
        result = pulse(*args, check=False)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_ingest_refuses_to_start_without_a_pii_key(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_text("{}\n")
    env = {k: v for k, v in os.environ.items() if k != "PII_HMAC_KEY"}
    result = subprocess.run(
        [PULSE, "ingest", "--source", "txn", "--db", str(tmp_path / "x.db"), str(tmp_path / "e.jsonl")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "PII_HMAC_KEY is not set" in result.stderr


def _number(value: Any) -> Any:
    """JSON numbers and Decimals compared exactly; strings and None as they are."""
    return Decimal(str(value)) if isinstance(value, int | float | Decimal) else value


def _counts(row: dict[str, Any]) -> bool:
    return any(
        row[k]
        for k in ("transactions", "voids", "visitors", "orders_placed", "orders_completed", "cancellations", "refunds")
    )


_ = build_pipeline  # the CLI wires the same pipeline; imported so a rename breaks this test loudly


def test_generate_then_ingest_with_defaults_dead_letters_only_the_injected_faults(tmp_path: Path) -> None:
    data, db = tmp_path / "txn.jsonl", tmp_path / "pulse.db"
    pulse("generate", "--source", "txn", "--count", "3000", "--faults", "malformed=0.02", "--out", str(data))
    done = pulse("ingest", "--source", "txn", "--db", str(db), str(data))
    summary = orjson.loads(done.stdout)
    assert summary["received"] == 3000 and 0 < summary["dead_lettered"] < 3000 * 0.05
    assert not {"future_timestamp", "too_late"} & set(summary["dead_letters_by_reason"]), summary
    assert "hint" not in summary and "\r" not in done.stderr  # progress in a log: plain lines


def test_a_run_refused_for_its_time_says_why_and_what_to_pass(tmp_path: Path) -> None:
    data, db = tmp_path / "txn.jsonl", tmp_path / "pulse.db"
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pulse("generate", "--source", "txn", "--count", "300", "--start", tomorrow, "--out", str(data))
    done = pulse("ingest", "--source", "txn", "--db", str(db), str(data))
    summary = orjson.loads(done.stdout)
    assert summary["dead_letters_by_reason"] == {"future_timestamp": 300}
    assert summary["hint"].startswith("300 of 300 events (100%) were dead-lettered because their event time")
    assert "--now" in summary["hint"] and "without --start" in summary["hint"]
    assert f"pulse ingest: {summary['hint']}" in done.stderr
