"""`pulse dlq list` as a user meets it: in a pipe, with a typo, asking for help."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

PULSE = str(Path(sys.executable).with_name("pulse"))
ENV = {**os.environ, "PII_HMAC_KEY": "e2e-dlq-key-" + "x" * 32}


def pulse(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PULSE, *args], capture_output=True, text=True, env=ENV, check=False, timeout=300)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dlq")
    data, path = folder / "txn.jsonl", folder / "pulse.db"
    assert (
        pulse(
            "generate", "--source", "txn", "--count", "3000", "--faults", "malformed=0.3", "--out", str(data)
        ).returncode
        == 0
    )
    assert pulse("ingest", "--source", "txn", "--db", str(path), str(data)).returncode == 0
    return path


def test_list_into_head_ends_quietly(db: Path) -> None:
    done = subprocess.run(
        f"'{PULSE}' dlq list --db '{db}' | head -n 1", shell=True, capture_output=True, text=True, env=ENV, check=False
    )
    assert done.returncode == 0 and done.stderr == ""
    (line,) = done.stdout.splitlines()
    assert orjson.loads(line)["reason_code"]
    assert (
        len(pulse("dlq", "list", "--db", str(db)).stdout.splitlines()) > 500
    )  # more than a pipe buffer: `head` did cut the output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--reason", "nope"], "argument --reason: unknown reason code 'nope' (one of body_too_large"),
        (["--source", "pos"], "argument --source: unknown source 'pos' (one of txn"),
        (["--limit", "0"], "argument --limit: must be a whole number of at least 1"),
    ],
)
def test_a_bad_filter_exits_2_with_one_line(db: Path, args: list[str], message: str) -> None:
    done = pulse("dlq", "list", "--db", str(db), *args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("pulse: error: ") and message in done.stderr and done.stderr.count("\n") == 1


def test_list_and_replay_have_their_own_help() -> None:
    group, listing, replay = (pulse(*args, "--help").stdout for args in (["dlq"], ["dlq", "list"], ["dlq", "replay"]))
    assert "list|replay" in group
    assert "--limit" in listing and "--all" in listing and "--batch-size" not in listing
    assert "--now" in replay and "--batch-size" in replay and "--limit" not in replay
    assert len({group, listing, replay}) == 3
