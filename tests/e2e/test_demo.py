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
    log = LocalLog(db, 4)
    heads = [log.last_sequence(s, p) for s in SOURCES for p in range(4)]
    appended = sum(head + 1 for head in heads if head is not None)
    log.close()
    assert cursor is not None
    return counts, appended, cursor


def logged_bodies(db: Path) -> list[bytes]:
    log = LocalLog(db, 4)
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
    assert cursor["runs"] == 1 and cursor["through"] > "2026-11-26T10:00:00Z"

    process, url = start_demo(db)  # continues: the stored seed, scale and faults; from where it stopped
    try:
        assert snapshot(url)["now"] >= cursor["through"]
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
    # The two runs sent exactly what one uninterrupted run would have sent up to the same time.
    uninterrupted = takewhile(lambda e: e.delivery_ms <= cursor_again["through_ms"], stream("all", 0, START))
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
