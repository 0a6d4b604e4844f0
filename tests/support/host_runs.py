"""Hosts in processes of their own, in tests: clocks that pickle into a spawned child, and the one-process check.

The clocks are module-level classes, so they pickle; `assert_as_in_one_process` runs
the same events through an in-process host on another file and compares the counts and
every store and chain KPI of the minute.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.bootstrap import DEMO_PII_KEY
from shared.kpis.diff import kpi_differences
from shared.rollups.query import kpi_rows
from shared.runtime.host import HostSettings
from shared.runtime.session import EmbeddedSession, SessionOptions
from shared.runtime.stats import RuntimeStats

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class FixedClock:
    """Always `NOW`."""

    def __call__(self) -> datetime:
        return NOW


class SlowClock:
    """Takes 20 s to answer: the child's round is stuck in its handler."""

    def __call__(self) -> datetime:
        time.sleep(20)
        return NOW


class BrokenClock:
    """Raises: the host stops on an error, which its parent must tell in words."""

    def __call__(self) -> datetime:
        raise RuntimeError("the clock broke")


def append(session: EmbeddedSession, events: list[Any]) -> None:
    """Append generated events to the session's log, one message each."""
    for event in events:
        session.log.append_many(event.source, [(event.partition_key, event.body, event.delivery_time)])


def kpis(session: EmbeddedSession) -> list[dict[str, Any]]:
    """Every store and chain KPI row of the minute grain, as of `NOW`."""
    return [row for scope in ("store", "chain") for row in kpi_rows(session.store, scope, "minute", NOW)]


def assert_as_in_one_process(stats: RuntimeStats, apart: EmbeddedSession, events: list[Any], db: Path) -> None:
    """`stats` and `apart`'s KPIs equal one in-process host's over `events` (on a new store at `db`)."""
    with EmbeddedSession(SessionOptions(db, DEMO_PII_KEY)) as inside:
        append(inside, events)
        expected = inside.host(HostSettings(), FixedClock()).run_until_quiet(timeout_s=120)
        assert (stats.received, stats.accepted, stats.dead_lettered, stats.duplicates) == (
            expected.received,
            expected.accepted,
            expected.dead_lettered,
            expected.duplicates,
        )
        assert stats.dead_lettered > 0 and stats.duplicates > 0  # the faults reached both
        rows = kpis(apart)
        assert rows and kpi_differences(rows, kpis(inside)) == []
