"""A lease over the document-store port: one holder at a time, by ETag, with an expiry.

Several Function App instances may run the outputs timer (or the rollups-to-outbox
trigger, or the alert evaluator) at once; only the holder of a lease may do its work.
The lease is a document (``lease|<name>``) in a container of the caller's choice: ``holder``,
``expires_at`` (epoch seconds of the holder's clock) and a small ``state`` that the
holder hands on to the next one (e.g. when the last snapshot was enqueued, what the
rate limiters spent). Taking it is a create (absent) or a replace on the ETag that
was read (released or expired); two instances racing for it cannot both win,
on the embedded store or on Cosmos DB, because the loser's write fails its
precondition. The holder must stop using it before `expires_at` minus a margin
(`LeaseHold.valid_for`), so an instance that stalled cannot act after another took over.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.stores.port import Document, DocumentStore, WriteOp

__all__ = ["LeaseHold", "LeaseLost", "StoreLease", "lease_id"]


class LeaseLost(RuntimeError):
    """The lease expired or another holder took it: stop, nothing more may be done under it."""


def lease_id(name: str) -> str:
    """Id (and partition key) of the lease document called `name`."""
    return f"lease|{name}"


@dataclass
class LeaseHold:
    """A held lease: valid until `expires_at` (clock time), with the state the last holder left."""

    lease: StoreLease
    expires_at: float
    etag: str
    state: dict[str, Any] = field(default_factory=dict)

    def valid_for(self, seconds: float) -> bool:
        """True when the lease is still ours for at least `seconds` more (by our clock)."""
        return self.lease.clock() + seconds < self.expires_at

    def renew(self) -> None:
        """Extend the expiry by the lease's ttl; `LeaseLost` if someone else holds it now."""
        self.lease._write(self, self.lease.clock() + self.lease.ttl_s)

    def release(self, state: Mapping[str, Any] | None = None) -> None:
        """Save `state` for the next holder and give the lease up (expired now); `LeaseLost` if it was taken."""
        if state is not None:
            self.state = dict(state)
        self.lease._write(self, 0.0)


class StoreLease:
    """The lease `name` in `container`, taken by `holder` (an instance id) for `ttl_s` seconds at a time.

    `clock` gives epoch seconds (any monotone clock all holders share: wall time when deployed,
    the simulated clock in the demo).
    """

    def __init__(
        self,
        store: DocumentStore,
        name: str,
        *,
        container: str,
        holder: str,
        ttl_s: float,
        clock: Callable[[], float],
    ) -> None:
        if ttl_s <= 0:
            raise ValueError(f"ttl_s must be > 0, got {ttl_s}")
        self.store, self.name, self.container = store, name, container
        self.holder, self.ttl_s, self.clock = holder, ttl_s, clock

    def _doc(self, expires_at: float, state: Mapping[str, Any]) -> Document:
        ident = lease_id(self.name)
        return {
            "id": ident,
            "pk": ident,
            "kind": "lease",
            "holder": self.holder,
            "expires_at": expires_at,
            "state": dict(state),
            "ttl": -1,
        }

    def read(self) -> Document | None:
        """The lease document as stored (None before anyone took it)."""
        ident = lease_id(self.name)
        return self.store.read(self.container, ident, ident)

    def try_acquire(self, *, renew_own: bool = False) -> LeaseHold | None:
        """Take the lease if it is free (released or expired); None while anyone holds it.

        By default "anyone" includes this holder (two invocations of one instance must not both
        drain); with `renew_own` a holder that calls again renews its own lease instead.
        """
        current = self.read()
        now = self.clock()
        held = current is not None and float(current["expires_at"]) > now
        if held and not (renew_own and current is not None and current.get("holder") == self.holder):
            return None  # held, by another instance or by another invocation of this one
        state = {} if current is None else dict(current.get("state") or {})
        doc = self._doc(now + self.ttl_s, state)
        op = WriteOp.create(doc) if current is None else WriteOp.replace(doc, current["_etag"])
        result = self.store.write_many(self.container, [op])[0]
        if not result.ok or result.doc is None:
            return None  # another instance took it between our read and our write
        return LeaseHold(self, doc["expires_at"], result.doc["_etag"], state)

    def give_up(self) -> None:
        """Release the lease without a hold (at shutdown), if `holder` has it; a lost race changes nothing."""
        current = self.read()
        if current is not None and current.get("holder") == self.holder:
            doc = self._doc(0.0, current.get("state") or {})
            self.store.write_many(self.container, [WriteOp.replace(doc, current["_etag"])])

    def _write(self, hold: LeaseHold, expires_at: float) -> None:
        doc = self._doc(expires_at, hold.state)
        result = self.store.write_many(self.container, [WriteOp.replace(doc, hold.etag)])[0]
        if not result.ok or result.doc is None:
            raise LeaseLost(f"lease {self.name!r} was taken by another holder")
        hold.etag, hold.expires_at = result.doc["_etag"], expires_at
