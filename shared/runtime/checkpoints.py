"""Durable consumer checkpoints: per (source, consumer group, partition), the last sequence handled.

They live in a SQLite table of the store's file (the session passes it; not the log's
file, so the consumer writes to one file and never waits on a producer's append), not in
the document store's `leases` container: in Azure the Event Hubs trigger checkpoints to
Blob storage (AzureWebJobsStorage), not Cosmos DB, and the `leases` container holds only
the change-feed leases of the rollup function. Keeping the stand-ins in the same places
keeps the store's content what Cosmos would hold. A checkpoint only moves forward.
"""

from __future__ import annotations

import os

from shared.stores.sqlite_connections import ThreadConnections

__all__ = ["CheckpointStore"]

_DDL = """
CREATE TABLE IF NOT EXISTS log_checkpoints (
    source         TEXT    NOT NULL,
    consumer_group TEXT    NOT NULL,
    partition      INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    PRIMARY KEY (source, consumer_group, partition)
);
"""


class CheckpointStore:
    """Checkpoints in the SQLite file `path` (table ``log_checkpoints``)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Open or create the checkpoint table at `path`."""
        self._db = ThreadConnections(path, _DDL)

    def get(self, source: str, consumer_group: str, partition: int) -> int | None:
        """The last checkpointed sequence number; None when the partition was never checkpointed."""
        row = (
            self._db.get()
            .execute(
                "SELECT seq FROM log_checkpoints WHERE source = ? AND consumer_group = ? AND partition = ?",
                (source, consumer_group, partition),
            )
            .fetchone()
        )
        return None if row is None else int(row[0])

    def save(self, source: str, consumer_group: str, partition: int, sequence: int) -> None:
        """Record that everything up to `sequence` is handled; ValueError if that moves backwards."""
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT seq FROM log_checkpoints WHERE source = ? AND consumer_group = ? AND partition = ?",
                (source, consumer_group, partition),
            ).fetchone()
            if row is not None and int(row[0]) > sequence:
                raise ValueError(
                    f"checkpoint of {source}/{consumer_group}/{partition} would move back from {row[0]} to {sequence}"
                )
            conn.execute(
                "INSERT INTO log_checkpoints (source, consumer_group, partition, seq) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (source, consumer_group, partition) DO UPDATE SET seq = excluded.seq",
                (source, consumer_group, partition, sequence),
            )

    def all(self, consumer_group: str) -> dict[tuple[str, int], int]:
        """Every checkpoint of `consumer_group`, by (source, partition)."""
        rows = self._db.get().execute(
            "SELECT source, partition, seq FROM log_checkpoints WHERE consumer_group = ?", (consumer_group,)
        )
        return {(str(source), int(partition)): int(seq) for source, partition, seq in rows}

    def close(self) -> None:
        """Close the connections (the file stays)."""
        self._db.close()
