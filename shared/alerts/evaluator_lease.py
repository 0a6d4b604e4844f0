"""The alert evaluator's lease: one evaluator at a time (the shared `StoreLease`, renewable by its holder).

The lease ``alerts-evaluator`` lives in the `leases` container. An instance holds it
until `duration` after its last evaluation; it renews at each evaluation, and another
instance takes it only after it expired. Every write is conditional (create, or
replace on the ETag read), so of two instances that try at the same moment exactly
one wins. The evaluator is safe without the lease too (its own writes are
conditional); the lease keeps the second instance from doing the same work for nothing.
Time is the evaluation's `now` (the simulated clock in the demo), not the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from shared.stores.lease import StoreLease
from shared.stores.port import DocumentStore
from shared.topology import LEASES_CONTAINER

__all__ = ["EVALUATOR_LEASE", "EvaluatorLease"]

EVALUATOR_LEASE: Final = "alerts-evaluator"


@dataclass(frozen=True, slots=True)
class EvaluatorLease:
    """Acquire or renew the evaluator lease for `owner` for `duration` from each call."""

    store: DocumentStore
    owner: str
    duration: timedelta = timedelta(minutes=2)

    def acquire(self, now: datetime) -> bool:
        """True when `owner` holds the lease until `now + duration` (taken or renewed)."""
        return self._lease(now.timestamp()).try_acquire(renew_own=True) is not None

    def release(self) -> None:
        """Give the lease up (at shutdown), if still held by `owner`."""
        self._lease(0.0).give_up()

    def _lease(self, now_s: float) -> StoreLease:
        ttl = self.duration.total_seconds()
        return StoreLease(
            self.store, EVALUATOR_LEASE, container=LEASES_CONTAINER, holder=self.owner, ttl_s=ttl, clock=lambda: now_s
        )
