"""The host in a process of its own (`pulse demo`'s wiring): same numbers as in-process, errors in words, no orphans."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from shared.bootstrap import DEMO_PII_KEY
from shared.generator import stream
from shared.runtime.demo_clock import SimulatedClock
from shared.runtime.host import HostSettings
from shared.runtime.host_process import HostProcess, HostProcessError
from shared.runtime.retry import DeadlineExceeded
from shared.runtime.session import EmbeddedSession, SessionOptions
from tests.support.host_runs import NOW, BrokenClock, FixedClock, SlowClock, append, assert_as_in_one_process

START = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
EVENTS = 1_500


def _events(seed: int) -> list[Any]:
    return list(islice(stream("all", seed, START, faults={"duplicate": 0.02, "malformed": 0.01}), EVENTS))


def _session(db: Path) -> EmbeddedSession:
    session = EmbeddedSession(SessionOptions(db, DEMO_PII_KEY))
    append(session, _events(7))
    return session


def _until(condition: Any, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_child_ingests_and_rolls_up_exactly_what_the_host_does_in_process(tmp_path: Path) -> None:
    apart = _session(tmp_path / "apart.db")
    host = HostProcess(apart.options, HostSettings(), FixedClock())
    host.start()
    _until(lambda: host.quiet and host.stats().received == EVENTS)
    assert host.thread_id is not None and host.pid != os.getpid()
    stats = host.stop(timeout_s=30)
    assert_as_in_one_process(stats, apart, _events(7), tmp_path / "inside.db")
    assert not host.running
    apart.close()


def test_an_error_in_the_child_is_raised_by_stop_in_words(tmp_path: Path) -> None:
    session = _session(tmp_path / "pulse.db")
    host = HostProcess(session.options, HostSettings(), BrokenClock())
    host.start()
    _until(lambda: not host.running)
    with pytest.raises(HostProcessError, match="the clock broke"):
        host.stop(timeout_s=30)
    session.close()


def test_a_shared_simulated_clock_runs_in_the_child_when_the_parent_lets_it_go(tmp_path: Path) -> None:
    session = _session(tmp_path / "pulse.db")
    clock = SimulatedClock(NOW, 60.0, held=True)
    host = HostProcess(session.options, HostSettings(), clock)
    host.start()
    _until(lambda: host.quiet and host.stats().received == EVENTS)
    clock.run()  # in this process; the child reads the same shared start
    time.sleep(0.5)
    assert clock() > NOW
    host.stop(timeout_s=30)
    session.close()


def test_ctrl_c_is_the_parents_to_handle(tmp_path: Path) -> None:
    session = _session(tmp_path / "pulse.db")
    host = HostProcess(session.options, HostSettings(), FixedClock())
    host.start()
    _until(lambda: host.thread_id is not None)
    assert host.pid is not None
    os.kill(host.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends to the whole process group
    time.sleep(0.5)
    assert host.running
    _until(lambda: host.stats().received == EVENTS)
    assert host.stop(timeout_s=30).received == EVENTS
    session.close()


def _orphan(options: SessionOptions, pids: Any, until_quiet: bool = False) -> None:
    clock = SlowClock() if until_quiet else FixedClock()
    host = HostProcess(options, HostSettings(), clock, until_quiet_s=120 if until_quiet else None)
    host.start()
    _until(lambda: host.thread_id is not None)
    if until_quiet:
        time.sleep(1.0)  # its round is in the handler, asking the slow clock
    pids.put(host.pid)
    pids.close()
    pids.join_thread()  # the pid is in the pipe
    os._exit(0)  # gone without stop(), as after kill -9


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def test_the_child_stops_when_its_parent_is_gone(tmp_path: Path) -> None:
    session = _session(tmp_path / "pulse.db")
    context = multiprocessing.get_context("spawn")
    pids = context.Queue()
    parent = context.Process(target=_orphan, args=(session.options, pids))
    parent.start()
    child = pids.get(timeout=60)
    parent.join(30)
    _until(lambda: _gone(child), timeout_s=60)
    session.close()


# -- until quiet: `pulse ingest`'s wiring (the parent appends while the child ingests) ---------------------


def test_until_quiet_the_child_takes_what_is_appended_meanwhile_and_ends_after_finish(tmp_path: Path) -> None:
    events = _events(11)
    apart = EmbeddedSession(SessionOptions(tmp_path / "apart.db", DEMO_PII_KEY))
    host = HostProcess(apart.options, HostSettings(), FixedClock(), until_quiet_s=120)
    host.start()
    _until(lambda: host.thread_id is not None)  # its session is open and its rounds run
    during: list[int] = []
    for start in range(0, EVENTS, 100):  # appends while the child consumes: it must not end between them
        append(apart, events[start : start + 100])
        time.sleep(0.1)
        assert host.running
        during.append(host.stats().received)
    assert during[len(during) // 2] > 0  # it consumed while the input was still coming
    seen: list[int] = []
    stats = host.finish(lambda s: seen.append(s.received), progress_interval_s=0.01)
    assert not host.running and seen == sorted(seen)
    assert stats.received == EVENTS
    assert_as_in_one_process(stats, apart, events, tmp_path / "inside.db")
    apart.close()


def test_until_quiet_a_timeout_in_the_child_is_raised_as_deadline_exceeded(tmp_path: Path) -> None:
    session = _session(tmp_path / "pulse.db")
    host = HostProcess(session.options, HostSettings(), FixedClock(), until_quiet_s=0.0)
    host.start()
    with pytest.raises(DeadlineExceeded, match="not quiet in time"):
        host.finish()
    session.close()


def test_until_quiet_stop_ends_a_child_still_waiting_for_input(tmp_path: Path) -> None:
    session = _session(tmp_path / "pulse.db")
    host = HostProcess(session.options, HostSettings(), FixedClock(), until_quiet_s=120)
    host.start()
    _until(lambda: host.stats().received == EVENTS)
    time.sleep(0.3)
    assert host.running  # the input is not complete: it waits for more
    assert host.stop(timeout_s=30).received == EVENTS
    assert not host.running
    session.close()


def test_until_quiet_an_error_in_the_child_is_raised_in_words(tmp_path: Path) -> None:
    session = _session(tmp_path / "pulse.db")
    host = HostProcess(session.options, HostSettings(), BrokenClock(), until_quiet_s=120)
    host.start()
    _until(lambda: not host.running)
    with pytest.raises(HostProcessError, match="the clock broke"):
        host.finish()
    session.close()


def test_until_quiet_the_child_dies_with_its_parent_even_mid_round(tmp_path: Path) -> None:
    session = _session(tmp_path / "pulse.db")
    context = multiprocessing.get_context("spawn")
    pids = context.Queue()
    parent = context.Process(target=_orphan, args=(session.options, pids, True))
    parent.start()
    child = pids.get(timeout=60)
    parent.join(30)
    # killed with its parent (PR_SET_PDEATHSIG), not after its 20 s round and a broken pipe
    _until(lambda: _gone(child), timeout_s=5)
    session.close()
