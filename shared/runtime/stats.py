"""What the runtime did: counters per consumer / poller, summed into one summary."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from shared.handlers.ports import BatchOutcome, ChangeOutcome

__all__ = ["RuntimeStats", "Tally"]


@dataclass(frozen=True, slots=True)
class RuntimeStats:
    """A summary of delivery work and of the handlers' outcomes (summed over consumers and pollers)."""

    batches: int = 0
    """Successful ingest handler calls, redeliveries included."""
    events: int = 0
    """Messages in those batches (a redelivered message counts again)."""
    checkpointed: int = 0
    """Messages newly covered by checkpoints in this run."""
    retries: int = 0
    """Retries after a `TransientStoreError` (ingest, feed reads, rollups, lease writes)."""
    redeliveries: int = 0
    crashes: int = 0
    received: int = 0
    accepted: int = 0
    dead_lettered: int = 0
    duplicates: int = 0
    replayed: int = 0
    documents_written: int = 0
    """Ingest document writes (rollup writes are in `rollup_documents_written`)."""
    dead_letters_by_reason: dict[str, int] = field(default_factory=dict)
    feed_pages: int = 0
    changes: int = 0
    rollup_documents_written: int = 0

    def __add__(self, other: RuntimeStats) -> RuntimeStats:
        reasons = dict(self.dead_letters_by_reason)
        for reason, count in other.dead_letters_by_reason.items():
            reasons[reason] = reasons.get(reason, 0) + count
        numbers = {
            name: getattr(self, name) + getattr(other, name)
            for name in self.__dataclass_fields__
            if name != "dead_letters_by_reason"
        }
        return RuntimeStats(**numbers, dead_letters_by_reason=reasons)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


class Tally:
    """Mutable counters of one consumer or poller; only its own thread writes them."""

    def __init__(self) -> None:
        """All counters at zero."""
        self.counts: dict[str, int] = dict.fromkeys(
            (name for name in RuntimeStats.__dataclass_fields__ if name != "dead_letters_by_reason"), 0
        )
        self.reasons: dict[str, int] = {}

    def bump(self, name: str, by: int = 1) -> None:
        """Add `by` to counter `name`."""
        self.counts[name] += by

    def add_batch(self, outcome: BatchOutcome, events: int) -> None:
        """Count one successful ingest handler call."""
        counts = self.counts
        counts["batches"] += 1
        counts["events"] += events
        counts["received"] += outcome.received
        counts["accepted"] += outcome.accepted
        counts["dead_lettered"] += outcome.dead_lettered
        counts["duplicates"] += outcome.duplicates
        counts["replayed"] += outcome.replayed
        counts["documents_written"] += outcome.documents_written
        for reason, count in outcome.dead_letters_by_reason.items():
            self.reasons[reason] = self.reasons.get(reason, 0) + count

    def add_page(self, outcome: ChangeOutcome) -> None:
        """Count one successful rollup handler call."""
        self.counts["feed_pages"] += 1
        self.counts["changes"] += outcome.changes
        self.counts["rollup_documents_written"] += outcome.documents_written

    def snapshot(self) -> RuntimeStats:
        """The counters now, as an immutable summary."""
        return RuntimeStats(**self.counts, dead_letters_by_reason=dict(self.reasons))
