"""`pulse demo` through the installed entry point: starts, serves, stops cleanly on a signal, and continues.

Two runs on one file at 60x speed: the first stopped by SIGINT, the second by
SIGTERM. Counts only grow, nothing is lost (received = accepted + dead-lettered +
duplicates, and every message the demo appended is consumed or still waiting in the
log), and the restart re-sends no event (no duplicates with faults off).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from itertools import takewhile
from pathlib import Path
from typing import Any

import orjson
import pytest

from shared.cli.demo import CURSOR_ID
from shared.engine.progress import AUDIT_CONTAINER
from shared.generator import stream
from shared.kpis.formulas import format_utc
from shared.runtime.local_log import LocalLog
from shared.runtime.log_files import log_path
from shared.stores.embedded import SqliteDocumentStore
from shared.topology import SOURCES

PULSE = str(Path(sys.executable).with_name("pulse"))
STOP_WITHIN_S = 30.0  # catches a hang; a stop took 10.5 s on this shared 2-core machine under load
START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

pytestmark = pytest.mark.slow


def start_demo(db: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    args = [PULSE, "demo", "--db", str(db), "--port", "0", "--speed", "60", "--faults", "none", *extra]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})
    assert process.stdout is not None
    line = process.stdout.readline().decode()  # the first line names the URL
    assert line.startswith("Retail Pulse demo: http://127.0.0.1:"), line + process.stderr.read().decode()
    return process, line.split()[3]


def snapshot(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "api/snapshot", timeout=10) as response:
        assert response.status == 200
        return dict(orjson.loads(response.read()))


def wait_for_transactions(url: str, more_than: int, timeout_s: float = 20.0) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        tiles = {t["id"]: t["value"] for t in snapshot(url)["tiles"]}
        if tiles["transactions"] > more_than:
            return int(tiles["transactions"])
        time.sleep(0.3)
    raise AssertionError(f"no more than {more_than} transactions after {timeout_s}s")


def wait_for_received(db: Path, more_than: int, timeout_s: float = 30.0) -> None:
    """Until the stored progress documents count more than `more_than` received messages."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if totals(db)[0]["received"] > more_than:
            return
        time.sleep(0.3)
    raise AssertionError(f"no more than {more_than} messages received after {timeout_s}s")


def stop(process: subprocess.Popen[bytes], signum: int) -> str:
    began = time.monotonic()
    process.send_signal(signum)
    _, err = process.communicate(timeout=STOP_WITHIN_S + 5)
    assert time.monotonic() - began < STOP_WITHIN_S
    assert process.returncode == 0, err.decode()
    return err.decode()


def totals(db: Path) -> tuple[Counter[str], int, dict[str, Any]]:
    """(progress counters, messages in the log, the demo's cursor)."""
    counts: Counter[str] = Counter()
    with SqliteDocumentStore(db) as store:
        for doc in store.query(AUDIT_CONTAINER):
            if doc["id"].startswith("progress|"):
                counts.update({k: int(doc[k]) for k in ("received", "accepted", "dead_lettered", "duplicates")})
        cursor = store.read(AUDIT_CONTAINER, CURSOR_ID, CURSOR_ID)
    log = LocalLog(log_path(db), 4)
    heads = [log.last_sequence(s, p) for s in SOURCES for p in range(4)]
    appended = sum(head + 1 for head in heads if head is not None)
    log.close()
    assert cursor is not None
    return counts, appended, cursor


def logged_bodies(db: Path) -> list[bytes]:
    log = LocalLog(log_path(db), 4)
    bodies = [e.body for s in SOURCES for p in range(4) for e in log.read(s, p, None, 1_000_000)]
    log.close()
    return bodies


def test_demo_serves_stops_on_a_signal_and_continues(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    process, url = start_demo(db, "--start", format_utc(START))
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200 and b"Retail Pulse" in response.read()
        first = wait_for_transactions(url, 0)
        data = snapshot(url)
        assert data["clock_rate"] == 60 and data["now"] >= "2026-11-26T10:00:00Z"
    finally:
        err = stop(process, signal.SIGINT)
    assert "stopped:" in err and "run again to continue" in err
    counts, appended, cursor = totals(db)
    assert counts["received"] > 0 and appended == cursor["sent"] >= counts["received"]
    # Stopped within the fast-forward of the day (23:00 -> 10:00 UTC, ~30k events) or after it: either way the
    # clock was at 10:00 or later, and `through` (everything sent up to there) is where the restart resumes.
    assert cursor["runs"] == 1 and cursor["clock_ms"] >= START.timestamp() * 1000
    assert cursor["through"] > "2026-11-25T23:00:00Z" and cursor["through_ms"] <= cursor["clock_ms"]

    process, url = start_demo(db)  # continues: the stored seed, scale and faults; from where it stopped
    try:
        assert snapshot(url)["now"] >= "2026-11-26T10:00:00Z"  # the clock continues where it stopped
        wait_for_transactions(url, first)
        # `first` was read early in run 1, so the tile may already exceed it: wait for run 2's own messages.
        wait_for_received(db, counts["received"])
    finally:
        stop(process, signal.SIGTERM)
    again, appended_again, cursor_again = totals(db)
    assert again["received"] > counts["received"] and appended_again > appended
    assert again["received"] == again["accepted"] + again["dead_lettered"] + again["duplicates"]
    assert again["duplicates"] == 0  # the restart re-sent nothing
    assert again["received"] <= appended_again == cursor_again["sent"]
    assert cursor_again["runs"] == 2 and cursor_again["through"] > cursor["through"]
    # The two runs sent exactly what one uninterrupted run would have sent up to the same time: the business
    # day's events from its start (the fast-forward: Berlin's midnight, 23:00 UTC) on.
    origin = datetime.fromisoformat(cursor_again["origin"])
    assert origin == datetime(2026, 11, 25, 23, 0, tzinfo=UTC) == datetime.fromisoformat(cursor["origin"])
    uninterrupted = takewhile(lambda e: e.delivery_ms <= cursor_again["through_ms"], stream("all", 0, origin))
    assert sorted(logged_bodies(db)) == sorted(e.body for e in uninterrupted)


def test_a_continued_file_keeps_its_stream(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    process, _ = start_demo(db, "--seed", "3")
    stop(process, signal.SIGINT)
    result = subprocess.run(
        [PULSE, "demo", "--db", str(db), "--seed", "4", "--port", "0"], capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert result.stderr.decode().strip() == (
        f"pulse: error: {db} continues a demo with --seed 3; leave it out or use another --db"
    )


def test_a_busy_port_is_a_usage_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [PULSE, "demo", "--db", str(tmp_path / "demo.db"), "--port", str(port), "--duration", "1"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert result.stderr.decode().startswith(f"pulse: error: cannot serve on 127.0.0.1:{port} (Address already in use)")


def test_the_demo_keeps_a_capture_that_rebuilds_identical_kpis(tmp_path: Path) -> None:
    """The demo's raw zone (Capture's layout, Avro) replayed into a fresh store gives `pulse kpis --diff` nothing."""
    db = tmp_path / "demo.db"
    process, url = start_demo(db, "--start", format_utc(START), "--faults", "duplicate=0.02,late=0.01,malformed=0.01")
    try:
        wait_for_transactions(url, 50)
    finally:
        stop(process, signal.SIGINT)
    _, _, cursor = totals(db)
    through = str(cursor["through"])
    env = {**os.environ, "PII_HMAC_KEY": "demo-capture-test-key-" + "x" * 32}
    empty = tmp_path / "nothing.jsonl"
    empty.write_bytes(b"")
    for source in SOURCES:  # let the live store finish what the demo appended but had not consumed at its stop
        subprocess.run([PULSE, "ingest", "--source", source, "--db", str(db), str(empty), "--now", through],
                       check=True, capture_output=True, env=env)  # fmt: skip
    capture = db.with_name("demo-capture")
    assert any(capture.rglob("*.avro"))
    rebuilt = tmp_path / "rebuilt.db"
    for source in SOURCES:
        replay = subprocess.run(
            [PULSE, "replay", "--from-capture", str(capture), "--hub", source, "--db", str(rebuilt)],
            capture_output=True,
            env=env,
            text=True,
        )
        assert replay.returncode == 0, replay.stderr
    diff = subprocess.run([PULSE, "kpis", "--diff", str(db), str(rebuilt), "--now", through],
                          capture_output=True, text=True)  # fmt: skip
    assert diff.returncode == 0 and diff.stdout == "", diff.stdout[:2000]
    assert "0 differences" in diff.stderr and "over 0 rows" not in diff.stderr


def test_a_second_demo_on_the_same_file_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    process, url = start_demo(db, "--start", format_utc(START))
    try:
        assert process.stdout is not None
        assert process.stdout.readline().decode() == f"Open {url} in a web browser to see the live page.\n"
        second = subprocess.run(
            [PULSE, "demo", "--db", str(db), "--port", "0", "--duration", "1"], capture_output=True, timeout=60
        )
        assert second.returncode == 2
        assert second.stderr.decode() == (
            f"pulse: error: {db} is in use by another `pulse demo` (pid {process.pid}); "
            "stop that one first, or pass another --db\n"
        )
    finally:
        stop(process, signal.SIGINT)
    done = subprocess.run(
        [PULSE, "demo", "--db", str(db), "--port", "0", "--duration", "1"], capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()  # free again once the first one stopped


def _until_live(process: subprocess.Popen[bytes], timeout_s: float = 240.0) -> list[str]:
    """Stderr lines up to the end of the fast-forward."""
    assert process.stderr is not None
    lines, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = process.stderr.readline().decode()
        assert line, "the demo ended before the fast-forward did: " + "".join(lines)
        lines.append(line)
        if line.startswith("fast-forward: the business day so far"):
            return lines
    raise AssertionError("no end of the fast-forward: " + "".join(lines))


def _fast_forwarded(db: Path, start: datetime) -> tuple[str, dict[str, Any]]:
    """(stderr up to the end of the fast-forward, the page's snapshot then) of a new demo started at `start`."""
    process, url = start_demo(db, "--start", format_utc(start), "--speed", "1")
    try:
        return "".join(_until_live(process)), snapshot(url)
    finally:
        stop(process, signal.SIGINT)


def test_at_night_a_new_demo_fast_forwards_the_day_and_says_the_stores_are_closed(tmp_path: Path) -> None:
    err, data = _fast_forwarded(tmp_path / "night.db", datetime(2026, 11, 26, 3, 0, tzinfo=UTC))  # 04:00 Berlin, Thu
    assert "All 59 stores are closed at this hour (03:00 UTC); the web and app shops keep trading." in err
    assert "Next openings (local time): CEE Thu 09:00, DE_NORTH Thu 09:30" in err
    assert 'make demo ARGS="--db ' in err and "--start 2026-11-25T10:00:00Z" in err
    assert "events since 2026-11-25 23:00 UTC" in err  # from the business day's start (Berlin's midnight)
    trading = data["trading"]
    assert trading["all_closed"] and trading["open_stores"] == 0
    assert [o["region"] for o in trading["next_openings"]][:1] == ["CEE"]
    tiles = {t["id"]: t["value"] for t in data["tiles"]}
    assert tiles["transactions"] > 0 and Decimal(str(tiles["net_sales"])) > 0  # online orders since midnight


def test_by_day_a_new_demo_starts_with_the_day_so_far(tmp_path: Path) -> None:
    err, data = _fast_forwarded(tmp_path / "day.db", datetime(2026, 11, 26, 10, 0, tzinfo=UTC))  # 11:00 in Berlin
    assert "stores are closed" not in err and "events since 2026-11-25 23:00 UTC" in err
    assert not data["trading"]["all_closed"] and data["trading"]["open_stores"] == 59
    tiles = {t["id"]: t["value"] for t in data["tiles"]}
    assert tiles["transactions"] > 1000  # two hours of 59 stores and the online shops since midnight
    regions = {row["key"]: row["transactions"] for row in data["breakdown"]["rows"]}
    assert all(regions[r] > 0 for r in ("CEE", "DE_NORTH", "DE_SOUTH", "NORDICS", "UK_NORTH", "UK_SOUTH"))
    # The fast-forwarded morning is history, not live lag (counted as live, its p95 was the 300 s bucket).
    assert tiles["lag_p95_ms"] is None or tiles["lag_p95_ms"] <= 5000, tiles["lag_p95_ms"]
