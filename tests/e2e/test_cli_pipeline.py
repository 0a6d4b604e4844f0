"""`pulse generate` -> `pulse ingest` (with faults) -> `pulse kpis`, through the installed entry point,
checked against the independent oracle (`tests/support/oracle`) run over the same files.

The stream starts at 21:30 UTC on 2026-10-24, so its windows cross the local midnights
of Berlin (22:00 UTC, the web and app shops' zone too), London (23:00 UTC) and
Stockholm / Warsaw, the UTC midnight (a new FX rate) and the autumn DST change (01:00
UTC); platform sources run through the same database, so the dead-letter rate and the
lag tiles cover every source.
"""

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

from shared.reference import demo_reference_dir
from shared.stores.embedded import SqliteDocumentStore
from shared.web.platform_health import platform_health
from tests.support import oracle
from tests.unit.engine.test_exactness import platform_views

PULSE = str(Path(sys.executable).with_name("pulse"))
KEY = "e2e-test-key-" + "x" * 32
NOW = "2026-10-25T13:00:00Z"
START = "2026-10-24T21:30:00Z"
SOURCES = {"txn": 4000, "traffic": 3000, "fulfillment": 1500, "ops": 800, "gov": 400, "cost": 400, "ingest": 800}
FAULTS = "duplicate=0.03,out_of_order=0.05,late=0.02,malformed=0.02"
Ingested = tuple[Path, dict[str, Path], dict[str, Any]]


def pulse(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PII_HMAC_KEY": KEY, "TZ": "Asia/Kolkata"}  # the host's zone must not matter
    return subprocess.run([PULSE, *args], capture_output=True, text=True, env=env, check=check, timeout=600)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Ingested:
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


@pytest.fixture(scope="module")
def verdicts(ingested: Ingested) -> dict[str, oracle.Outcome]:
    """The oracle's verdict on every line of every file."""
    _, files, _ = ingested
    reference = oracle.load(demo_reference_dir())
    lines = {source: path.read_bytes().split(b"\n")[:-1] for source, path in files.items()}
    return {source: oracle.accept(source, body, _now(), reference) for source, body in lines.items()}


def _now() -> datetime:
    return datetime.fromisoformat(NOW.replace("Z", "+00:00"))


def test_nothing_is_lost_per_source(ingested: Ingested, verdicts: dict[str, oracle.Outcome]) -> None:
    _, files, summaries = ingested
    for source, summary in summaries.items():
        lines = files[source].read_bytes().count(b"\n")
        assert summary["received"] == lines
        assert summary["received"] == summary["accepted"] + summary["dead_lettered"] + summary["duplicates"]
        assert summary["duplicates"] > 0 and summary["dead_lettered"] > 0, summary
        if SOURCES[source] >= 1500:  # enough batches for a 0.2 redelivery rate to redeliver one
            assert summary["redeliveries"] > 0, summary
        verdict = verdicts[source]
        counts = (verdict.received, len(verdict.accepted), verdict.dead_letters, verdict.duplicates)
        assert counts == tuple(summary[k] for k in ("received", "accepted", "dead_lettered", "duplicates")), source


def test_every_kpi_equals_the_oracle_over_the_files(ingested: Ingested, verdicts: dict[str, oracle.Outcome]) -> None:
    db, _, _ = ingested
    reference = oracle.load(demo_reference_dir())
    accepted = [event for verdict in verdicts.values() for event in verdict.accepted]
    expected = oracle.kpi_rows(accepted, reference)
    backlog = oracle.backlog(accepted, reference, _now())
    compared, days = 0, set()
    for scope in ("store", "region", "chain", "channel"):
        for grain in ("minute", "hour", "day"):
            rows = orjson.loads(pulse("kpis", "--db", str(db), "--scope", scope, "--grain", grain, "--now", NOW).stdout)
            got = {(r["key"], r["window"]): r for r in rows}
            want = {(k, w): r for (s, k, g, w), r in expected.items() if s == scope and g == grain}
            for member in set(got) | set(want):
                row = got.get(member)
                mine = oracle.empty_row() if row is None else {name: _number(row[name]) for name in oracle.KPIS}
                assert mine == want.get(member, oracle.empty_row()), (scope, grain, member)
                if member in got:
                    figures = (got[member]["open_backlog"], got[member]["overdue_backlog"])
                    assert figures == backlog.get((scope, member[0]), (0, 0)), (scope, member)
                compared += 1
                if grain == "day":
                    days.add(member[1])
    assert compared > 500
    assert {"2026-10-24", "2026-10-25"} <= days  # the stream did cross local midnights


def test_platform_views_and_health_tiles_equal_the_oracle(
    ingested: Ingested, verdicts: dict[str, oracle.Outcome]
) -> None:
    db, _, _ = ingested
    accepted = [event for verdict in verdicts.values() for event in verdict.accepted]
    want = oracle.platform_figures(accepted)
    with SqliteDocumentStore(db) as store:
        got = platform_views(store)
        health = platform_health(store, _now())
    assert {key[0] for key in want} == {"logs", "dq", "cost", "landing"}
    assert got == {key: {k: v for k, v in row.items() if isinstance(v, int) and v} for key, row in want.items()}
    for (figure, key, window), row in want.items():  # the ratios the views feed, recomputed from the engine's counts
        counts = got[(figure, key, window)]
        if figure == "logs":
            errors = counts.get("error", 0) + counts.get("critical", 0)
            assert oracle.rounded(errors, counts["logs"], 4) == row["error_rate"]
        elif figure == "dq":
            assert oracle.rounded(counts.get("pass", 0), counts["checks"], 4) == row["pass_rate"]
        elif figure == "cost":
            assert Decimal(counts.get("cost_cents", 0)) / 100 == row["cost"]
    outcomes = list(verdicts.values())
    assert (health.received, health.dead_lettered) == (
        sum(o.received for o in outcomes),
        sum(o.dead_letters for o in outcomes),
    )
    assert health.dead_letter_rate == oracle.dead_letter_rate(outcomes)
    lags = oracle.lags_ms(accepted, _now())
    assert health.lagged == len(lags)
    assert (health.lag_p50_ms, health.lag_p95_ms) == (oracle.lag_tile_ms(lags, 50), oracle.lag_tile_ms(lags, 95))


def test_usage_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    cases = [
        ("ingest", "--source", "nope", "--db", str(tmp_path / "x.db"), "missing.jsonl"),
        ("ingest", "--source", "txn", "--db", str(tmp_path / "x.db"), str(tmp_path / "missing.jsonl")),
        ("ingest", "--source", "txn", "--db", str(tmp_path / "x.db"), "--hosts", "0", str(tmp_path / "x.jsonl")),
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
