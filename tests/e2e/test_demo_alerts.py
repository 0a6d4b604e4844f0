"""`pulse demo --faults incidents`: alerts fire on the page (panel and tile marks) within a minute of wall time."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_demo import PULSE, snapshot, stop

pytestmark = pytest.mark.slow


def _wait(url: str, done: Any, timeout_s: float = 240.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        snap = snapshot(url)
        if done(snap["alerts"]):
            return snap
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout_s}s: {snapshot(url)['alerts']}")


def test_incidents_make_alerts_fire_on_the_page(tmp_path: Path) -> None:
    args = [PULSE, "demo", "--db", str(tmp_path / "demo.db"), "--port", "0", "--speed", "60"]
    args += ["--start", "2026-11-26T10:00:00Z", "--faults", "incidents", "--alerts-every", "0.5"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    assert line.startswith("Retail Pulse demo: http://127.0.0.1:"), line
    url = line.split()[3]
    try:
        # the dead-letter burst (from 10:05) fires its threshold after 2 minutes
        _wait(url, lambda a: any(x["rule"] == "dead-letter-rate" for x in a["firing"] + a["recent"]))
        # the DE_NORTH tills go down at 10:10: 20 silent minutes later the heartbeat fires and marks the tile
        snap = _wait(
            url,
            lambda a: any(
                x["rule"] == "till-silent" and x["state"] == "firing" and x["region"] == "DE_NORTH" for x in a["firing"]
            ),
        )
        # The outage's region pages (waited for above). At high speeds a few wall seconds of pipeline lag are minutes of
        # silence, so a store elsewhere may page as well: docs/alerts.md, "high demo speeds".
        assert any(x["rule"] == "till-silent" and x["region"] == "DE_NORTH" for x in snap["alerts"]["firing"])
        assert "transactions" in snap["alerts"]["tile_marks"]
        assert all(x["runbook"] for x in snap["alerts"]["firing"])
    finally:
        stop(process, signal.SIGINT)
