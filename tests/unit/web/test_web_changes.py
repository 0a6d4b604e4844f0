"""Change detection: the feed probe sees every write to the KPI containers; the signal wakes waiters."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

from web_rig import START, WebRig, sale

from shared.web.changes import ChangeSignal, FeedProbe


def test_the_feed_probe_counts_changes_made_by_the_pipeline(tmp_path: Path) -> None:
    rig = WebRig(tmp_path)
    probe = FeedProbe(rig.store, page_size=2)  # small pages: draining must loop to the end
    assert probe() == 0
    now = START + timedelta(minutes=1)
    rig.send_body("txn", "DE001", sale(1, "DE001", START), now)
    rig.settle(now)
    first = probe()
    assert first > 2  # base view, flow, store/region/chain/channel rollups
    assert probe() == first  # nothing new
    rig.send_body("txn", "DE001", sale(2, "DE001", START), now)
    rig.settle(now)
    assert probe() > first
    rig.close()


def test_the_signal_moves_only_when_the_probe_value_changes() -> None:
    values = iter([1, 1, 2, 2, 2, 3])
    signal = ChangeSignal(lambda: next(values))
    assert [signal.poll() for _ in range(6)] == [1, 1, 2, 2, 2, 3]


def test_a_failing_probe_is_reported_and_polling_goes_on() -> None:
    calls = iter([ValueError("store busy"), 7])

    def probe() -> int:
        value = next(calls)
        if isinstance(value, Exception):
            raise value
        return value

    signal = ChangeSignal(probe)
    assert signal.poll() == 0
    assert str(signal.error) == "store busy"
    assert signal.poll() == 1
    assert signal.error is None


def test_waiters_wake_on_a_change_and_on_stop() -> None:
    box = {"value": 0}
    signal = ChangeSignal(lambda: box["value"], interval_s=0.02)
    signal.start()
    start_version = signal.version
    woke: list[tuple[int, float]] = []

    def wait() -> None:
        began = time.monotonic()
        woke.append((signal.wait_for_change(start_version, 60.0), time.monotonic() - began))

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.1)
    box["value"] = 1
    waiter.join(60.0)
    assert woke and woke[0][0] == start_version + 1 and woke[0][1] < 5.0  # woken by the change, not the timeout
    began = time.monotonic()
    stopper = threading.Timer(0.1, signal.stop)
    stopper.start()
    assert signal.wait_for_change(signal.version, 60.0) == start_version + 1
    assert time.monotonic() - began < 5.0  # woken by stop, not the timeout
    stopper.join()
