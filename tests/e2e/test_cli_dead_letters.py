"""Personal data in dead letters, through the installed `pulse` command: sealed at rest, masked when
listed, opened only by replay, which still applies the event exactly; every read and replay is logged."""

from __future__ import annotations

import csv
import getpass
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson

from shared.reference import demo_reference_dir
from tests.support.samples import body

PULSE = str(Path(sys.executable).with_name("pulse"))
KEY = "e2e-dead-letter-key-" + "y" * 32
CUSTOMER, ACCOUNT = "CUST-4711-ANNA-MUELLER", "LOYALTY-99881122"
NOW = "2026-11-26T12:00:00Z"


def pulse(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PII_HMAC_KEY": KEY}
    return subprocess.run([PULSE, *args], capture_output=True, text=True, env=env, check=True, timeout=300)


def _reference_without_pln(folder: Path) -> Path:
    shutil.copytree(demo_reference_dir(), folder)
    rates = folder / "fx_rates.csv"
    with rates.open(newline="") as handle:
        rows = [row for row in csv.reader(handle) if row[1] != "PLN"]
    with rates.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return folder


def _documents(db: Path, container: str) -> list[bytes]:
    """The stored JSON text of every document of `container`, read straight from the SQLite file."""
    with sqlite3.connect(db) as connection:
        return [
            body.encode() for (body,) in connection.execute("SELECT body FROM docs WHERE container = ?", (container,))
        ]


def _kpis(db: Path) -> list[dict[str, object]]:
    out = pulse("kpis", "--db", str(db), "--scope", "store", "--grain", "day", "--format", "json").stdout
    return [{k: v for k, v in row.items() if k not in ("as_of",)} for row in orjson.loads(out)]


def test_a_dead_letter_keeps_no_customer_id_in_clear_and_replays_exactly(tmp_path: Path) -> None:
    sale = body("txn", 1, merchant_id="DE001", currency="PLN", customer_id=CUSTOMER, account_id=ACCOUNT)
    events = tmp_path / "txn.jsonl"
    events.write_bytes(sale + b"\n" + sale[:-30] + b"\n")  # the sale, and a truncated copy of it (not JSON)
    db = tmp_path / "pulse.db"
    reference = _reference_without_pln(tmp_path / "ref")
    ingest = ["ingest", "--source", "txn", "--db", str(db), "--now", NOW]
    summary = orjson.loads(pulse(*ingest, "--reference", str(reference), str(events)).stdout)
    assert (summary["accepted"], summary["dead_lettered"]) == (0, 2)

    stored = _documents(db, "deadletters")
    assert len(stored) == 2 and b"sealed" in stored[0]
    for secret in (CUSTOMER, ACCOUNT):
        assert not any(secret.encode() in doc for doc in stored), "a personal id is readable at rest"
    assert (tmp_path / "pulse.db.dlq-key").stat().st_mode & 0o077 == 0  # the key file is the owner's alone

    listed = pulse("dlq", "list", "--db", str(db), "--now", NOW).stdout
    letters = [orjson.loads(line) for line in listed.splitlines()]
    assert sorted(letter["reason_code"] for letter in letters) == ["not_json", "unknown_currency"]
    assert CUSTOMER not in listed and ACCOUNT not in listed and "sealed" not in listed and "raw_b64" not in listed
    assert all('"customer_id":"***"' in letter["body_masked"] for letter in letters)  # the cut copy too

    result = orjson.loads(pulse("dlq", "replay", "--db", str(db), "--reason", "unknown_currency", "--now", NOW).stdout)
    assert (result["replayed"], result["resolved"]) == (1, 1)  # the shipped reference set has PLN

    control = tmp_path / "control.db"  # the same sale ingested with the rate in place from the start
    pulse(*ingest[:4], str(control), "--now", NOW, str(events))
    assert _kpis(db) == _kpis(control) and _kpis(db)[0]["transactions"] == 1

    records = [orjson.loads(doc) for doc in _documents(db, "audit") if b'"kind":"dlq-access"' in doc]
    assert sorted((r["action"], r["principal"], r["letters"]) for r in records) == [
        ("list", f"cli:{getpass.getuser()}", 2),
        ("replay", f"cli:{getpass.getuser()}", 1),
    ]
