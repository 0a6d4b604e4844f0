"""An embedded session: the document store and its checkpoints in ``<db>``, the local log in ``<db>.eventlog``."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from shared.bootstrap import Pipeline, build_pipeline
from shared.pipeline.sealing import BodySealer, local_key_file
from shared.runtime.checkpoints import CheckpointStore
from shared.runtime.crash_injection import CrashingStore
from shared.runtime.host import HostSettings, LocalHost
from shared.runtime.log_files import open_store_log
from shared.runtime.stats import RuntimeStats
from shared.stores.embedded import SqliteDocumentStore
from shared.stores.port import DocumentStore

__all__ = ["EmbeddedSession", "SessionOptions"]


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """How to open the session."""

    db: Path
    pii_key: bytes
    partitions: int = 4
    reference_dir: Path | None = None
    write_crash_rate: float = 0.0
    """Crash between two document writes with this probability per write (fault injection)."""
    seed: int = 0
    dead_letter_key_file: Path | None = None
    """The key file that seals dead-letter bodies (default: next to `db`, see `dead_letter_key_path`)."""

    def dead_letter_key_path(self) -> Path:
        """``<db>.dlq-key`` unless another file is given: keep it with the store, never in a repository."""
        return self.dead_letter_key_file or self.db.with_name(self.db.name + ".dlq-key")


class EmbeddedSession:
    """Owns the SQLite-backed store, log and checkpoints; builds hosts over them. Close it (or use `with`)."""

    def __init__(self, options: SessionOptions) -> None:
        self.options = options
        options.db.parent.mkdir(parents=True, exist_ok=True)
        self.store = SqliteDocumentStore(options.db)
        try:
            self.log, self.migrated = open_store_log(self.store, options.partitions)
        except BaseException:
            self.store.close()
            raise
        """The log (its own file, see `shared/runtime/log_files.py`); messages moved from a single-file store."""
        self.checkpoints = CheckpointStore(options.db)
        handler_store: DocumentStore = self.store
        if options.write_crash_rate:
            handler_store = CrashingStore(self.store, options.write_crash_rate, random.Random(options.seed))
        self.handler_store = handler_store
        sealer = BodySealer(local_key_file(options.dead_letter_key_path()))
        self.pipeline: Pipeline = build_pipeline(handler_store, options.pii_key, options.reference_dir, sealer=sealer)

    def host(
        self,
        settings: HostSettings,
        clock: Callable[[], datetime],
        on_progress: Callable[[RuntimeStats], None] | None = None,
    ) -> LocalHost:
        """A host driving this session's handlers from its log and change feeds."""
        return LocalHost(
            self.log,
            self.checkpoints,
            self.handler_store,
            self.pipeline.ingest,
            self.pipeline.rollup,
            clock=clock,
            settings=settings,
            on_progress=on_progress,
        )

    def close(self) -> None:
        self.checkpoints.close()
        self.log.close()
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
