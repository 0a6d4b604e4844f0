"""Host processes sharing one log (`pulse ingest --hosts`): disjoint partitions, one feed owner, same numbers."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from shared.bootstrap import DEMO_PII_KEY
from shared.generator import stream
from shared.runtime.host import HostSettings
from shared.runtime.host_pool import HostPool, split_partitions
from shared.runtime.host_process import HostProcessError
from shared.runtime.session import EmbeddedSession, SessionOptions
from tests.support.host_runs import BrokenClock, FixedClock, append, assert_as_in_one_process

START = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
EVENTS = 2_000


def _events(seed: int) -> list[Any]:
    return list(islice(stream("all", seed, START, faults={"duplicate": 0.02, "malformed": 0.01}), EVENTS))


def test_partitions_are_dealt_round_robin_and_only_the_first_host_polls_the_feeds() -> None:
    parts = split_partitions(HostSettings(), hosts=2, partitions=4)
    assert [p.partitions for p in parts] == [(0, 2), (1, 3)]
    assert parts[0].feed_containers == HostSettings().feed_containers and parts[1].feed_containers == ()
    assert [p.partitions for p in split_partitions(HostSettings(), hosts=3, partitions=2)] == [(0,), (1,)]
    assert [p.partitions for p in split_partitions(HostSettings(), hosts=1, partitions=3)] == [(0, 1, 2)]
    with pytest.raises(ValueError, match="hosts must be >= 1"):
        split_partitions(HostSettings(), hosts=0, partitions=4)
    with pytest.raises(ValueError, match="distinct and at least one"):
        HostSettings(partitions=(1, 1))


def test_a_host_refuses_partitions_the_log_does_not_have(tmp_path: Path) -> None:
    with (
        EmbeddedSession(SessionOptions(tmp_path / "pulse.db", DEMO_PII_KEY)) as session,
        pytest.raises(ValueError, match=r"partitions \[4\] are not in the log \(it has 4\)"),
    ):
        session.host(HostSettings(partitions=(0, 4)), FixedClock()).run_until_quiet(timeout_s=10)


def test_two_hosts_on_one_log_count_exactly_what_one_host_does(tmp_path: Path) -> None:
    events = _events(5)
    shared = EmbeddedSession(SessionOptions(tmp_path / "two.db", DEMO_PII_KEY))
    pool = HostPool(shared.options, HostSettings(), FixedClock(), hosts=2, until_quiet_s=120)
    assert len(pool) == 2
    pool.start()
    for start in range(0, EVENTS, 250):  # appended while both consume
        append(shared, events[start : start + 250])
        time.sleep(0.1)
        assert pool.running
    stats = pool.finish()
    assert not pool.running
    each = pool.each()
    assert all(part.received > 0 for part in each)  # both hosts took batches
    assert sum(part.received for part in each) == stats.received == EVENTS
    assert each[0].feed_pages > 0 and each[1].feed_pages == 0  # one owner of the change feeds
    assert_as_in_one_process(stats, shared, events, tmp_path / "one.db")
    shared.close()


def test_an_error_in_a_host_is_raised_in_words_and_stop_ends_them_all(tmp_path: Path) -> None:
    with EmbeddedSession(SessionOptions(tmp_path / "pulse.db", DEMO_PII_KEY)) as session:
        append(session, _events(6)[:200])
        pool = HostPool(session.options, HostSettings(), BrokenClock(), hosts=2, until_quiet_s=120)
        pool.start()
        deadline = time.monotonic() + 60
        while pool.running:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with pytest.raises(HostProcessError, match="the clock broke"):
            pool.finish()
        pool.stop(timeout_s=30)
        assert pool.alive == 0
