"""`pulse generate` end to end, as a user runs it: a real process, real files."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

_SCRIPT = Path(sys.executable).with_name("pulse")
PULSE = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "shared.cli.main"]
"""The installed console script when `pip install -e .` has run, else the module."""
START = "2026-11-26T06:00:00Z"


def pulse(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*PULSE, *args], capture_output=True, timeout=300, cwd=cwd, check=False)


def generate(*args: str) -> subprocess.CompletedProcess[bytes]:
    return pulse("generate", *args)


def test_stdout_is_json_lines_and_byte_identical_per_seed(tmp_path: Path) -> None:
    first = generate("--source", "all", "--count", "3000", "--seed", "7", "--start", START)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.split(b"\n")
    assert lines[-1] == b"" and len(lines) == 3001
    sources = Counter(orjson.loads(line)["event_type"] for line in lines[:-1])
    assert len(sources) >= 6
    out = tmp_path / "events.jsonl"
    second = generate("--source", "all", "--count", "3000", "--seed", "7", "--start", START, "--out", str(out))
    assert second.returncode == 0 and second.stdout == b""
    assert out.read_bytes() == first.stdout
    other = generate("--source", "all", "--count", "3000", "--seed", "8", "--start", START)
    assert other.returncode == 0 and other.stdout != first.stdout


def test_faults_in_the_file(tmp_path: Path) -> None:
    out = tmp_path / "faulty.jsonl"
    done = generate(
        "--source",
        "txn",
        "--count",
        "20000",
        "--seed",
        "3",
        "--start",
        START,
        "--faults",
        "duplicate=0.05,malformed=0.02,late=0.01,out_of_order=0.05",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    lines = out.read_bytes().split(b"\n")[:-1]
    assert len(lines) == 20_000
    seen: set[bytes] = set()
    duplicates = malformed = 0
    for line in lines:
        duplicates += line in seen
        seen.add(line)
        try:
            event = orjson.loads(line)
            malformed += not isinstance(event, dict) or event.get("schema_version") != 1
        except orjson.JSONDecodeError:
            malformed += 1
    originals = len(lines) - duplicates
    assert abs(duplicates / originals - 0.05) < 0.01
    assert 0.005 < malformed / originals < 0.03  # part of the malformed mix still parses (wrong field, ...)


def test_without_seed_and_start_the_stream_ends_before_now() -> None:
    before = datetime.now(UTC)
    done = generate("--source", "txn", "--count", "400")
    assert done.returncode == 0, done.stderr
    times = [datetime.fromisoformat(orjson.loads(line)["posted_ts"]) for line in done.stdout.splitlines()]
    assert len(times) == 400 and max(times) <= datetime.now(UTC)
    assert before - min(times) < timedelta(days=6)  # well inside the 7 days a late event is accepted
    assert generate("--source", "txn", "--count", "400", "--seed", "0", "--start", START).returncode == 0


def test_own_reference_data(tmp_path: Path) -> None:
    (tmp_path / "stores.csv").write_text(
        "store_id,name,region,country,timezone,valid_from,valid_to,currency,opens,closes\n"
        "NYC1,Pulse SoHo,US_EAST,US,America/New_York,2020-01-01T00:00:00Z,,USD,10:00,21:00\n"
        "WEB,Online,ONLINE,US,America/New_York,2020-01-01T00:00:00Z,,USD,,\n",
        encoding="utf-8",
    )
    (tmp_path / "products.csv").write_text(
        "product_id,name,category,department,valid_from,valid_to,list_price\n"
        "SKU1,Tee,Tops,Apparel,2020-01-01T00:00:00Z,,20.00\nSKU2,Cap,Hats,Apparel,2020-01-01T00:00:00Z,,\n",
        encoding="utf-8",
    )
    (tmp_path / "fx_rates.csv").write_text("date,currency,rate\n2026-01-01,USD,0.8600\n", encoding="utf-8")
    done = generate("--source", "txn", "--count", "300", "--seed", "1", "--start", START, "--reference", str(tmp_path))
    assert done.returncode == 0, done.stderr
    events = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert {e["merchant_id"] for e in events} == {"NYC1", "WEB"}
    assert {e["currency"] for e in events} == {"USD"}
    assert {line["product_id"] for e in events for line in e["lines"]} == {"SKU1", "SKU2"}


def test_progress_line_for_large_counts(tmp_path: Path) -> None:
    done = generate(
        "--source", "traffic", "--count", "100000", "--seed", "1", "--start", START, "--out", str(tmp_path / "t.jsonl")
    )
    assert done.returncode == 0
    progress = done.stderr.decode().strip().splitlines()
    assert len(progress) == 1 and "100,000/100,000 events" in progress[0] and "events/s" in progress[0]
    assert generate("--source", "traffic", "--count", "10", "--seed", "1").stderr == b""


BAD_REFERENCE = (
    "store_id,name,region,country,timezone,valid_from,valid_to\nS1,One,R,DE,Europe/Atlantis,2026-01-01T00:00:00Z,\n"
)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "pos", "--count", "1", "--seed", "1"], "invalid choice: 'pos'"),
        (["--source", "txn", "--count", "ten", "--seed", "1"], "--count: not a whole number"),
        (["--source", "txn", "--count", "-5", "--seed", "1"], "must be 0 or more"),
        (["--source", "txn", "--seed", "1"], "--count"),
        (["--source", "txn", "--count", "1", "--seed", "x"], "--seed: not an integer"),
        (["--source", "txn", "--count", "1", "--seed", "1", "--faults", "lag=0.1"], "unknown fault 'lag'"),
        (["--source", "txn", "--count", "1", "--seed", "1", "--faults", "late=2"], "must be from 0 to 1"),
        (["--source", "txn", "--count", "1", "--seed", "1", "--start", "2026-11-26T10:00:00"], "--start"),
        (
            ["--source", "txn", "--count", "1", "--seed", "1", "--start", "2026-02-30T10:00:00Z"],
            "--start: invalid timestamp",
        ),
        (
            ["--source", "txn", "--count", "1", "--seed", "1", "--reference", "/no/such/dir"],
            "stores.csv: file not found in /no/such/dir",
        ),
        (
            ["--source", "txn", "--count", "1", "--seed", "1", "--reference", "{bad}"],
            "stores.csv line 2, column timezone: unknown IANA time zone 'Europe/Atlantis'",
        ),
        (["--source", "txn", "--count", "1", "--seed", "1", "--out", "/no/such/dir/x.jsonl"], "--out: cannot write"),
        (["--source", "txn", "--count", "1", "--seed", "1", "--scale", "0"], "--scale"),
    ],
)
def test_unusable_arguments_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "stores.csv").write_text(BAD_REFERENCE, encoding="utf-8")
    done = generate(*[str(bad) if a == "{bad}" else a for a in args])
    assert done.returncode == 2
    assert done.stdout == b""
    error = done.stderr.decode()
    assert error.endswith("\n") and error.count("\n") == 1, error
    assert error.startswith("pulse: error: ") and message in error


def test_output_does_not_depend_on_hash_randomisation() -> None:
    args = [
        *PULSE,
        "generate",
        "--source",
        "all",
        "--count",
        "4000",
        "--seed",
        "5",
        "--start",
        START,
        "--faults",
        "duplicate=0.1,malformed=0.1,late=0.05,out_of_order=0.1",
    ]
    outputs = {
        subprocess.run(
            args, capture_output=True, timeout=120, check=True, env={**os.environ, "PYTHONHASHSEED": seed}
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
