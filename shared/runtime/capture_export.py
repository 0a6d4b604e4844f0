"""The embedded Capture: what the local log accepted, written in Event Hubs Capture's layout and Avro schema.

Each `export()` writes, per (source, partition), the messages appended since the
previous export as one blob named by its first message's enqueued second, so the
backfill and reconciliation paths (`pulse replay`, `pulse reconcile`) run locally
exactly as against Azure's raw zone. The high-water mark per partition lives in the
log's SQLite file and moves only after the blob is written: a crash in between
writes the same messages again under the same name, which is refused (the blob is
immutable) and the mark moves on, so nothing is captured twice or lost.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.capture.avro_format import write_records
from shared.capture.layout import blob_name
from shared.capture.port import CaptureStore
from shared.runtime.local_log import LocalLog
from shared.stores.sqlite_connections import ThreadConnections
from shared.topology import HUB_NAMES, Source

__all__ = ["LOCAL_NAMESPACE", "CaptureExporter", "ExportResult"]

LOCAL_NAMESPACE = "pulse-local"
"""The namespace segment of embedded capture blobs (Azure's is the Event Hubs namespace name)."""

_DDL = """
CREATE TABLE IF NOT EXISTS capture_marks (
    source     TEXT    NOT NULL,
    partition  INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL,
    last_start TEXT    NOT NULL,
    PRIMARY KEY (source, partition)
) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class ExportResult:
    blobs: int
    messages: int


class CaptureExporter:
    """Copies new log messages into `store` as capture blobs (call `export()` now and then, and at the end)."""

    def __init__(
        self,
        log: LocalLog,
        db_path: str | os.PathLike[str],
        store: CaptureStore,
        *,
        namespace: str = LOCAL_NAMESPACE,
        max_messages_per_blob: int = 50_000,
    ) -> None:
        self._log, self._store, self._namespace = log, store, namespace
        self._max = max_messages_per_blob
        self._db = ThreadConnections(db_path, _DDL)

    @property
    def store(self) -> CaptureStore:
        return self._store

    def export(self) -> ExportResult:
        """Write every message appended since the last export; the blobs and messages written."""
        blobs = messages = 0
        for source in self._log.sources():
            for partition in range(self._log.partitions):
                while True:
                    written = self._export_one(source, partition)  # type: ignore[arg-type]
                    if not written:
                        break
                    blobs, messages = blobs + 1, messages + written
        return ExportResult(blobs, messages)

    def _export_one(self, source: Source, partition: int) -> int:
        conn = self._db.get()
        row = conn.execute(
            "SELECT last_seq, last_start FROM capture_marks WHERE source = ? AND partition = ?", (source, partition)
        ).fetchone()
        after = None if row is None else int(row[0])
        last_start = None if row is None else datetime.fromisoformat(row[1])
        raws = self._log.read(source, partition, after, self._max)
        if not raws:
            return 0
        first = raws[0].enqueued_time or datetime.now(UTC)
        start = first.replace(microsecond=0)
        if last_start is not None and start <= last_start:
            start = last_start + timedelta(seconds=1)  # names stay unique and in sequence order
        name = blob_name(self._namespace, HUB_NAMES[source], str(partition), start)
        buffer = io.BytesIO()
        write_records(buffer, [], raws)
        with contextlib.suppress(FileExistsError):  # written before a crash that lost the mark: same messages
            self._store.write(name, buffer.getvalue())
        last_seq = raws[-1].sequence_number
        with self._db.write() as tx:
            tx.execute(
                "INSERT INTO capture_marks (source, partition, last_seq, last_start) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (source, partition) DO UPDATE SET last_seq = excluded.last_seq, "
                "last_start = excluded.last_start",
                (source, partition, last_seq, start.isoformat()),
            )
        return len(raws)

    def close(self) -> None:
        self._db.close()
