"""What waits in the log per source, and the status line's freshness text built from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.cli._freshness import freshness_text
from shared.runtime.backlog import SourceBacklog, log_backlog
from shared.runtime.checkpoints import CheckpointStore
from shared.runtime.local_log import LocalLog
from shared.topology import CONSUMER_GROUP, SOURCES
from shared.web.platform_health import PlatformHealth

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def _health(p95: int | None = None, behind: int | None = None, lagged: int = 0) -> PlatformHealth:
    return PlatformHealth(0, 0, None, lagged, p95, p95, None, None, behind)


def test_backlog_counts_what_the_group_has_not_checkpointed_and_since_when(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    log, checkpoints = LocalLog(db, 2), CheckpointStore(db)
    keys = ["S1", "S2", "S3", "S4"]
    newest: dict[int, datetime] = {}
    for i in range(6):
        log.append("txn", keys[i % 4], b"{}", T0 + timedelta(seconds=i))
        newest[log.partition_of(keys[i % 4])] = T0 + timedelta(seconds=i)
    log.append("traffic", "S1", b"{}", T0)
    assert [b.waiting for b in log_backlog(log, checkpoints)] == [
        6 if s == "txn" else int(s == "traffic") for s in SOURCES
    ]
    for partition in range(2):
        head = log.last_sequence("txn", partition)
        assert head is not None
        checkpoints.save("txn", CONSUMER_GROUP, partition, head - 1)  # each partition: its newest still waits
    txn = log_backlog(log, checkpoints)[SOURCES.index("txn")]
    assert txn.waiting == len(newest) and txn.oldest == min(newest.values())
    for partition in range(2):
        checkpoints.save("txn", CONSUMER_GROUP, partition, log.last_sequence("txn", partition) or 0)
    assert log_backlog(log, checkpoints)[SOURCES.index("txn")] == SourceBacklog("txn", 0, None)
    log.close()
    checkpoints.close()


def test_freshness_text_is_a_number_per_source_in_wall_seconds_and_warns_when_overloaded() -> None:
    now = T0 + timedelta(seconds=200)
    calm = freshness_text(_health(p95=1000), [SourceBacklog("txn", 0, None)], now, speed=1.0)
    assert calm == "waiting 0 | lag p95 <= 1 s"
    behind = [SourceBacklog("txn", 5_000, T0), SourceBacklog("traffic", 40, T0 + timedelta(seconds=180))]
    text = freshness_text(_health(behind=120_000), behind, now, speed=20.0)
    assert text == "OVERLOADED: waiting 5,040 (txn 10.0 s, traffic 1.0 s) | lag >= 6 s"
    assert "-" not in freshness_text(_health(), [SourceBacklog("txn", 0, None)], now, speed=1.0)
