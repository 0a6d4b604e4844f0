"""The alert evaluator's lease: one evaluator at a time, by a document written with its ETag.

The lease ``alerts-evaluator`` lives in the `leases` container. An instance holds it
until `expires_at`; it renews at each evaluation, and another instance takes it only
after it expired. Every write is conditional (create, or replace on the ETag read),
so of two instances that try at the same moment exactly one wins. The evaluator is
safe without the lease too (its own writes are conditional); the lease keeps the
second instance from doing the same work for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from shared.alerts.documents import parse_stamp
from shared.engine.documents import stamp
from shared.stores.port import DocumentStore, WriteOp
from shared.topology import LEASES_CONTAINER

__all__ = ["EVALUATOR_LEASE_ID", "EvaluatorLease"]

EVALUATOR_LEASE_ID: Final = "alerts-evaluator"


@dataclass(frozen=True, slots=True)
class EvaluatorLease:
    """Acquire or renew the evaluator lease for `owner` for `duration` from each call."""

    store: DocumentStore
    owner: str
    duration: timedelta = timedelta(minutes=2)

    def acquire(self, now: datetime) -> bool:
        """True when `owner` holds the lease until `now + duration` (taken or renewed)."""
        current = self.store.read(LEASES_CONTAINER, EVALUATOR_LEASE_ID, EVALUATOR_LEASE_ID)
        doc = {"id": EVALUATOR_LEASE_ID, "owner": self.owner, "expires_at": stamp(now + self.duration)}
        if current is None:
            op = WriteOp.create(doc)
        else:
            expires = parse_stamp(current.get("expires_at"))
            if current.get("owner") != self.owner and expires is not None and expires > now:
                return False
            op = WriteOp.replace(doc, current["_etag"])
        (result,) = self.store.write_many(LEASES_CONTAINER, [op])
        return result.ok

    def release(self) -> None:
        """Give the lease up (at shutdown), if still held by `owner`."""
        current = self.store.read(LEASES_CONTAINER, EVALUATOR_LEASE_ID, EVALUATOR_LEASE_ID)
        if current is not None and current.get("owner") == self.owner:
            released = {"id": EVALUATOR_LEASE_ID, "owner": "", "expires_at": current["expires_at"]}
            self.store.write_many(LEASES_CONTAINER, [WriteOp.replace(released, current["_etag"])])
