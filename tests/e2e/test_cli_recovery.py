"""Recovery through the installed `pulse` entry point: a replay a day after the failure, re-runs that
continue where a crashed run stopped, `kill -9` during ingest and replay, two writers on one store.

The truth is a clean run: the same file ingested once with the full reference set. After any
incident and its repair, every KPI row of every scope and grain equals the clean run's.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from shared.engine.progress import AUDIT_CONTAINER
from shared.handlers.dead_letters import REPLAY_PARTITION
from shared.reference import demo_reference_dir
from shared.rollups.query import kpi_rows
from shared.runtime.log_files import log_path
from shared.stores.embedded import SqliteDocumentStore
from shared.timestamps import parse_rfc3339

PULSE = str(Path(sys.executable).with_name("pulse"))
KEY = "e2e-test-key-" + "r" * 32
START = "2026-11-20T06:00:00Z"  # 6.5 days before NOW: inside the 7-day lateness limit at first receipt ...
NOW = "2026-11-26T18:00:00Z"
DAY_LATER = "2026-11-27T18:00:00Z"  # ... and past it a day later, when the missing rate is added
AS_OF = "2026-11-28T00:00:00Z"
COUNT = 6000
MISSING = "GBP"


def pulse(*args: str, check: bool = True, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PII_HMAC_KEY": KEY}
    result = subprocess.run([PULSE, *args], capture_output=True, text=True, env=env, timeout=600, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"pulse {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


def start(*args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PII_HMAC_KEY": KEY}
    return subprocess.Popen([PULSE, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def kpis(db: Path) -> dict[tuple[str, str], list[Any]]:
    """Every KPI row of every scope and grain, as `pulse kpis` reads them (in-process: 12 commands cost minutes)."""
    out = {}
    with SqliteDocumentStore(db) as store:
        for scope in ("store", "region", "chain", "channel"):
            for grain in ("minute", "hour", "day"):
                rows = kpi_rows(store, scope, grain, parse_rfc3339(AS_OF))  # type: ignore[arg-type]
                out[scope, grain] = [r for r in rows if r["transactions"] or r["voids"] or r["refunds"]]
    assert sum(len(rows) for rows in out.values()) > 100
    return out


def progress_totals(db: Path, *, replay: bool) -> dict[str, int]:
    """Counters summed over the hub partitions (or the replay pseudo-partition) of txn."""
    totals = dict.fromkeys(("received", "accepted", "dead_lettered", "duplicates"), 0)
    with SqliteDocumentStore(db) as store:
        for doc in store.query(AUDIT_CONTAINER, where={"source": "txn"}):
            if doc["id"].startswith("progress|") and (doc["partition"] == REPLAY_PARTITION) == replay:
                for name in totals:
                    totals[name] += int(doc[name])
    return totals


def log_bodies(db: Path) -> list[bytes]:
    with sqlite3.connect(log_path(db)) as conn:
        return sorted(bytes(row[0]) for row in conn.execute("SELECT body FROM log_events WHERE source = 'txn'"))


def _appended(db: Path) -> int:
    """Lines in the log so far (0 while the file or its tables are being created)."""
    try:
        return len(log_bodies(db)) if log_path(db).exists() else 0
    except sqlite3.OperationalError:
        return 0


def letters(db: Path, *extra: str) -> list[dict[str, Any]]:
    out = pulse("dlq", "list", "--db", str(db), "--all", *extra).stdout
    return [orjson.loads(line) for line in out.splitlines()]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The input file, a reference set without GBP rates, the clean run and an incident store (open letters)."""
    folder = tmp_path_factory.mktemp("recovery")
    source = folder / "txn.jsonl"
    pulse("generate", "--source", "txn", "--count", str(COUNT), "--seed", "7", "--start", START, "--out", str(source))
    partial = folder / "ref-without-gbp"
    shutil.copytree(demo_reference_dir(), partial)
    rates = (partial / "fx_rates.csv").read_text().splitlines(keepends=True)
    (partial / "fx_rates.csv").write_text("".join(line for line in rates if f",{MISSING}," not in line))
    clean, started = folder / "clean.db", time.monotonic()
    clean_summary = orjson.loads(
        pulse("ingest", "--source", "txn", "--db", str(clean), str(source), "--now", NOW).stdout
    )
    ingest_s = time.monotonic() - started
    incident = folder / "incident.db"
    summary = orjson.loads(
        pulse(
            "ingest", "--source", "txn", "--db", str(incident), "--reference", str(partial), str(source), "--now", NOW
        ).stdout
    )
    missing = source.read_bytes().count(f'"currency":"{MISSING}"'.encode())
    assert summary["dead_letters_by_reason"] == {"unknown_currency": missing} and missing > 500, summary
    return {
        "folder": folder,
        "source": source,
        "partial": partial,
        "clean": clean,
        "clean_summary": clean_summary,
        "ingest_s": ingest_s,
        "clean_kpis": kpis(clean),
        "incident": incident,
        "missing": missing,
    }


def test_a_replay_a_day_later_counts_every_letter_and_equals_a_clean_run(world: dict[str, Any], tmp_path: Path) -> None:
    db = tmp_path / "pulse.db"
    _copy_store(world["incident"], db)
    still = orjson.loads(
        pulse("dlq", "replay", "--db", str(db), "--reference", str(world["partial"]), "--now", NOW).stdout
    )
    assert (still["resolved"], still["still_failing_by_reason"]) == (0, {"unknown_currency": world["missing"]})

    result = pulse("dlq", "replay", "--db", str(db), "--reason", "unknown_currency", "--now", DAY_LATER)
    summary = orjson.loads(result.stdout)
    assert (summary["replayed"], summary["resolved"], summary["still_failing"]) == (world["missing"],) * 2 + (0,)
    assert summary["batches"] >= world["missing"] // 1000 and summary["events_per_s"] > 0
    assert "replay: " in result.stderr and "\r" not in result.stderr  # plain progress lines off a terminal

    found = letters(db, "--reason", "unknown_currency")  # found by their first reason, with their history
    assert len(found) == world["missing"] and all(d["status"] == "resolved" for d in found)
    assert all([a["outcome"] for a in d["replays"]] == ["failed", "resolved"] for d in found)
    assert all(d["last_reason_code"] == "unknown_currency" for d in found)
    assert kpis(db) == world["clean_kpis"]

    replay = progress_totals(db, replay=True)
    assert replay["received"] == replay["accepted"] + replay["dead_lettered"] + replay["duplicates"]
    assert replay["accepted"] == world["missing"]
    again = orjson.loads(pulse("dlq", "replay", "--db", str(db), "--reason", "unknown_currency").stdout)
    assert (again["replayed"], again["resolved"]) == (0, 0)


def test_a_re_run_appends_only_what_is_new_and_again_resends_everything(world: dict[str, Any], tmp_path: Path) -> None:
    db, lines = tmp_path / "pulse.db", world["source"].read_bytes().splitlines(keepends=True)
    part = tmp_path / "txn.jsonl"
    part.write_bytes(b"".join(lines[:4000]))
    first = orjson.loads(pulse("ingest", "--source", "txn", "--db", str(db), str(part), "--now", NOW).stdout)
    assert first["appended"] == 4000 and "resumed_at_line" not in first
    part.write_bytes(b"".join(lines))  # the producer wrote more
    result = pulse("ingest", "--source", "txn", "--db", str(db), str(part), "--now", NOW)
    second = orjson.loads(result.stdout)
    assert f"{part}: resumed at line 4,001" in result.stderr
    assert (second["appended"], second["received"], second["resumed_at_line"]) == (2000, 2000, {str(part): 4001})
    assert second["received"] == second["accepted"] + second["dead_lettered"] + second["duplicates"]
    nothing = orjson.loads(pulse("ingest", "--source", "txn", "--db", str(db), str(part), "--now", NOW).stdout)
    assert (nothing["appended"], nothing["received"]) == (0, 0)
    assert log_bodies(db) == sorted(line.rstrip(b"\n") for line in lines)
    assert kpis(db) == world["clean_kpis"]

    resent = orjson.loads(
        pulse("ingest", "--source", "txn", "--db", str(db), str(part), "--now", NOW, "--again").stdout
    )
    assert (resent["appended"], resent["duplicates"], resent["accepted"]) == (COUNT, COUNT, 0)
    assert kpis(db) == world["clean_kpis"]


def test_a_changed_file_is_appended_whole(tmp_path: Path) -> None:
    db, data = tmp_path / "pulse.db", tmp_path / "in.jsonl"
    data.write_bytes(b"{}\n{}\n")
    pulse("ingest", "--source", "txn", "--db", str(db), str(data), "--now", NOW)
    data.write_bytes(b"[]\n{}\n{}\n")
    result = pulse("ingest", "--source", "txn", "--db", str(db), str(data), "--now", NOW)
    assert orjson.loads(result.stdout)["appended"] == 3
    assert "changed since an earlier run appended 2 lines; appending it whole" in result.stderr


def test_a_second_ingest_on_the_same_store_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    db, data = tmp_path / "pulse.db", tmp_path / "in.jsonl"
    data.write_bytes(b"{}\n")
    first = start("ingest", "--source", "txn", "--db", str(db), "-", "--now", NOW, stdin=subprocess.PIPE)
    lock = db.with_name(db.name + ".lock")
    deadline = time.monotonic() + 60
    while not (lock.exists() and lock.read_text().strip() == str(first.pid)):  # holds the lock, waits for stdin
        assert first.poll() is None and time.monotonic() < deadline, "the first ingest did not take the lock"
        time.sleep(0.05)
    for args in (("ingest", "--source", "txn", "--db", str(db), str(data)), ("dlq", "replay", "--db", str(db))):
        second = pulse(*args, "--now", NOW, check=False)
        assert second.returncode == 2 and second.stderr.strip().splitlines() == [
            f"pulse: error: {db}: in use by process {first.pid}; wait for it to finish"
        ]
    out, err = first.communicate(b"{}\n", timeout=120)
    assert first.returncode == 0, err
    assert orjson.loads(out)["received"] == 1
    after = orjson.loads(pulse("ingest", "--source", "txn", "--db", str(db), str(data), "--now", NOW).stdout)
    assert after["received"] == 1  # the lock went with the first process


def _kill_at_random(args: tuple[str, ...], rng: random.Random, high: float) -> bool:
    """Run pulse `args` and `kill -9` it after a random delay below `high`; True when the kill landed."""
    process = start(*args)
    try:
        process.wait(timeout=rng.uniform(0.1, high))
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        return True
    finally:
        process.stdout.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]
    return False


def _crash(args: tuple[str, ...], rng: random.Random, high: float, fresh: Callable[[], None]) -> int:
    """Kill a run at random until one kill lands (a run that finished first is undone: `fresh`), then
    kill the re-run at random too; the number of kills that landed (>= 1)."""
    for _ in range(8):
        if _kill_at_random(args, rng, high):
            return 1 + _kill_at_random(args, rng, high)
        fresh()
        high /= 2
    raise AssertionError("no kill landed before the command finished")


def _copy_store(original: Path, db: Path) -> None:
    """A copy of a store with its event log and its dead-letter key file (the letters are sealed with it)."""
    shutil.copy(original, db)
    shutil.copy(log_path(original), log_path(db))
    key = original.with_name(original.name + ".dlq-key")
    if key.exists():
        shutil.copy(key, db.with_name(db.name + ".dlq-key"))


def _fresh(db: Path, original: Path | None) -> None:
    """Undo a run: the store as it was (`original`, or none)."""
    for file in (db, log_path(db)):
        for path in (file, file.with_name(file.name + "-wal"), file.with_name(file.name + "-shm")):
            path.unlink(missing_ok=True)
    if original is not None:
        _copy_store(original, db)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_during_ingest_then_re_run_equals_a_clean_run(world: dict[str, Any], tmp_path: Path, seed: int) -> None:
    rng, db = random.Random(seed), tmp_path / "pulse.db"
    args = ("ingest", "--source", "txn", "--db", str(db), str(world["source"]), "--now", NOW, "--batch-size", "250")
    kills = _crash(args, rng, world["ingest_s"], lambda: _fresh(db, None))
    result = pulse(*args)
    final = orjson.loads(result.stdout)
    assert final["received"] == final["accepted"] + final["dead_lettered"] + final["duplicates"]
    assert kills >= 1
    if final["appended"] < COUNT:
        assert f"resumed at line {COUNT - final['appended'] + 1:,}" in result.stderr
    assert log_bodies(db) == sorted(world["source"].read_bytes().splitlines())  # each input line once
    totals = progress_totals(db, replay=False)
    assert totals["received"] == COUNT == totals["accepted"] + totals["dead_lettered"] + totals["duplicates"]
    assert totals["accepted"] == world["clean_summary"]["accepted"]
    assert kpis(db) == world["clean_kpis"]


def test_ctrl_c_while_the_host_drains_stops_both_processes_and_a_re_run_equals_a_clean_run(
    world: dict[str, Any], tmp_path: Path
) -> None:
    db = tmp_path / "pulse.db"
    args = ("ingest", "--source", "txn", "--db", str(db), str(world["source"]), "--now", NOW, "--batch-size", "50")
    # 1-event batches: the drain takes ~15 s, so Ctrl-C surely lands in it (with 50 it lasts under a second).
    # Its own process group with Ctrl-C at its default, as a terminal's foreground job: a child inherits an
    # ignored SIGINT and Python keeps it ignored, and a suite started as a background job of a non-interactive
    # shell (`make test &`) runs with SIGINT ignored; the test must not depend on how its runner was started.
    process = start(
        *args[:-1], "1", start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    )
    deadline = time.monotonic() + 120
    while _appended(db) < COUNT:  # every line appended: the host drains
        assert process.poll() is None and time.monotonic() < deadline, "the input was not appended in time"
        time.sleep(0.05)
    received = progress_totals(db, replay=False)["received"] if db.exists() else 0
    assert received < COUNT  # still draining
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends: to the parent and its host process
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    time.sleep(0.5)
    group = subprocess.run(["ps", "-o", "pid=,stat=,args=", "-g", str(process.pid)], capture_output=True, text=True)
    running = [line for line in group.stdout.splitlines() if line.split()[1][0] != "Z"]  # ended, not yet reaped
    assert running == []  # no host process left behind
    final = orjson.loads(pulse(*args).stdout)
    assert final["appended"] == 0  # the first run appended everything; the re-run only drains
    totals = progress_totals(db, replay=False)
    assert totals["received"] == COUNT and totals["accepted"] == world["clean_summary"]["accepted"]
    assert kpis(db) == world["clean_kpis"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_kill_9_during_replay_then_re_run_equals_a_clean_run(world: dict[str, Any], tmp_path: Path, seed: int) -> None:
    rng, db = random.Random(seed), tmp_path / "pulse.db"
    _copy_store(world["incident"], db)
    args = ("dlq", "replay", "--db", str(db), "--reason", "unknown_currency", "--now", DAY_LATER, "--batch-size", "200")
    kills = _crash(args, rng, world["ingest_s"], lambda: _fresh(db, world["incident"]))
    final = orjson.loads(pulse(*args).stdout)
    assert final["still_failing"] == 0 and final["replayed"] <= world["missing"]
    assert kills >= 1 and final["resolved"] == final["replayed"]
    assert all(d["status"] == "resolved" for d in letters(db, "--reason", "unknown_currency"))
    replay = progress_totals(db, replay=True)
    assert replay["received"] == replay["accepted"] + replay["dead_lettered"] + replay["duplicates"]
    assert replay["accepted"] == world["missing"] and replay["dead_lettered"] == 0
    assert progress_totals(db, replay=False)["received"] == COUNT
    assert kpis(db) == world["clean_kpis"]
