"""Values the outbox takes and gives: its configuration, a window of pending rows, per-table statistics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.sinks.port import Row

__all__ = ["OutboxConfig", "OutboxConflict", "PendingRows", "TableStats"]

_DAY = 86_400


class OutboxConflict(RuntimeError):
    """Another writer or drainer changed the outbox under us: each table has one writer and one drainer."""


@dataclass(frozen=True, slots=True)
class OutboxConfig:
    """Sizes and lifetimes of outbox documents."""

    chunk_rows: int = 500
    """Rows per chunk document of `enqueue_rows` (a chunk is one store write)."""
    deltas_per_cycle: int = 200
    """Minute rollups per delta enqueue cycle (one chunk each, so a chunk stays well under 2 MB)."""
    delta_table: str = "kpi_delta"
    state_ttl_s: int = 8 * _DAY
    """Life of a minute's delta state after its last change: must exceed the accepted lateness (7 days),
    or a later correction would be pushed as if nothing had been pushed before."""
    rejected_ttl_s: int = 30 * _DAY
    latest_wins_tables: tuple[str, ...] = ("kpi_snapshot", "kpi_tiles")
    """Snapshot tables: a new snapshot drops every older pending one of the same members, so the
    backlog after an outage is one snapshot and the first push is the current state."""

    def __post_init__(self) -> None:
        if self.chunk_rows < 1 or self.deltas_per_cycle < 1:
            raise ValueError("chunk_rows and deltas_per_cycle must be >= 1")
        if self.state_ttl_s <= 7 * _DAY:
            raise ValueError(f"state_ttl_s must exceed the accepted lateness of 7 days, got {self.state_ttl_s}")


@dataclass(frozen=True, slots=True)
class PendingRows:
    """Committed rows after a table's cursor, in order, with where each came from."""

    table: str
    rows: tuple[Row, ...] = ()
    positions: tuple[tuple[int, int], ...] = ()
    """(chunk sequence, index in chunk) of each row."""
    chunk_sizes: Mapping[int, int] = field(default_factory=dict)
    """Rows in each chunk touched, by sequence."""
    enqueued_at: float | None = None
    """When the chunk of the first row was enqueued (epoch seconds)."""

    def head(self, count: int) -> PendingRows:
        """The first `count` rows only (acknowledging them moves the cursor exactly as on the whole window)."""
        if count >= len(self.rows):
            return self
        return PendingRows(self.table, self.rows[:count], self.positions[:count], self.chunk_sizes, self.enqueued_at)


@dataclass(frozen=True, slots=True)
class TableStats:
    """One table's outbox numbers; `pending_rows` is the backlog, `lag_s` its age."""

    table: str
    enqueued_rows: int
    pushed_rows: int
    rejected_rows: int
    pending_rows: int
    oldest_pending_at: float | None
    last_pushed_at: float | None
    requests: int
    superseded_rows: int = 0
    """Rows of older snapshots dropped unpushed because a newer snapshot of the same members came (latest-wins)."""

    def lag_s(self, now: float) -> float:
        """Push lag: age of the oldest pending row (0 when nothing is pending)."""
        return 0.0 if self.oldest_pending_at is None else max(0.0, now - self.oldest_pending_at)
