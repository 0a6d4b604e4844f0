"""The alert delivery outbox: a message is a document until its receiver has taken it.

A delivery document ``msg|<receiver>|<message id>`` (partition ``outbox|<receiver>``)
is *created* by the evaluator — a second create of the same message conflicts, so a
transition is never queued twice. A drainer claims a due message with an ETag
replace (``sending`` until `claim_for` has passed, so two drainers never send it
both), sends it, and marks it ``sent``; a failure puts it back with exponential
backoff (1 s, 2 s, 4 s ... capped at 5 minutes). Messages of a receiver go out in
order: while its oldest due message fails, the later ones wait. Nothing expires
while pending; a sent message is kept 7 days.

A crash between a send and its ``sent`` mark resends after the claim expires: each
message carries its `message_id` (and the webhook header ``Idempotency-Key``), so a
receiver that dedupes sees it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from shared.alerts.documents import ALERTS_CONTAINER, parse_stamp
from shared.alerts.rules import ReceiverSpec
from shared.engine.documents import stamp
from shared.stores.port import Document, DocumentStore, WriteOp

__all__ = [
    "DeliveryFailed",
    "DrainReport",
    "Transport",
    "backoff",
    "delivery_doc",
    "drain",
    "enqueue",
]

SENT_TTL_S: Final = 7 * 86_400
MAX_BACKOFF: Final = timedelta(minutes=5)
CLAIM_FOR: Final = timedelta(seconds=60)


class DeliveryFailed(Exception):
    """The receiver did not take the message; it is retried later."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Transport(Protocol):
    """Sends one message to one receiver; raises `DeliveryFailed` when it was not taken."""

    def send(self, receiver: ReceiverSpec, message: Document) -> None: ...


@dataclass(slots=True)
class DrainReport:
    """What one drain did."""

    sent: list[str] = field(default_factory=list)
    """Message ids delivered, in order."""
    failed: int = 0
    waiting: int = 0


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts` + 1: 1 s doubling, at most 5 minutes."""
    return min(timedelta(seconds=2 ** min(attempts - 1, 16)), MAX_BACKOFF)


def delivery_doc(receiver: str, message: Document, now: datetime, not_before: datetime | None = None) -> Document:
    """A new pending delivery of `message` to `receiver`."""
    due = max(now, not_before) if not_before is not None else now
    return {
        "id": f"msg|{receiver}|{message['message_id']}",
        "pk": f"outbox|{receiver}",
        "type": "delivery",
        "receiver": receiver,
        "status": "pending",
        "attempts": 0,
        "created_at": stamp(now),
        "due_at": stamp(due),
        "message": message,
        "ttl": -1,
    }


def enqueue(store: DocumentStore, deliveries: Sequence[Document]) -> int:
    """Create the deliveries; an existing one (same message) is left alone. Returns how many were new."""
    if not deliveries:
        return 0
    ordered = [{**d, "order": f"{d['created_at']}|{i:06d}"} for i, d in enumerate(deliveries)]
    results = store.write_many(ALERTS_CONTAINER, [WriteOp.create(d) for d in ordered])
    for doc, result in zip(ordered, results, strict=True):
        if result.outcome == "conflict":
            _join(store, doc)
    return sum(1 for r in results if r.ok)


def _join(store: DocumentStore, doc: Document) -> None:
    """A message of the same group and bucket exists: add the alerts it lacks while it still waits."""
    for _ in range(3):
        current = store.read(ALERTS_CONTAINER, doc["pk"], doc["id"])
        if current is None or current["status"] != "pending":
            return  # gone out already: the alerts it lacks were in a message of their own bucket, or it has them
        known = {a["alert_id"] for a in current["message"]["alerts"]}
        extra = [a for a in doc["message"]["alerts"] if a["alert_id"] not in known]
        if not extra:
            return
        alerts = sorted([*current["message"]["alerts"], *extra], key=lambda a: str(a["scope"]))
        merged = _body(current, message={**current["message"], "alerts": alerts})
        (result,) = store.write_many(ALERTS_CONTAINER, [WriteOp.replace(merged, current["_etag"])])
        if result.ok:
            return


def drain(
    store: DocumentStore,
    receivers: Sequence[ReceiverSpec],
    transport: Transport,
    now: datetime,
    *,
    limit: int = 100,
) -> DrainReport:
    """Send what is due for each receiver, oldest first, stopping at a receiver's first failure."""
    report = DrainReport()
    for receiver in receivers:
        docs = store.query(ALERTS_CONTAINER, pk=f"outbox|{receiver.name}", where={"type": "delivery"})
        queue = sorted((d for d in docs if d["status"] != "sent"), key=lambda d: (str(d["order"]), str(d["id"])))
        sent_before = len(report.sent)
        for doc in queue:
            if len(report.sent) - sent_before >= limit:
                break
            if not _due(doc, now):
                if int(doc.get("attempts", 0)) > 0:
                    break  # the receiver is failing: keep its order, wait for the backoff
                continue  # held back by a cooldown: the messages behind it may go
            if not _send_one(store, receiver, transport, doc, now, report):
                break
        report.waiting += sum(1 for d in queue) - (len(report.sent) - sent_before)
    return report


def _due(doc: Document, now: datetime) -> bool:
    if doc["status"] == "sent":
        return False
    if doc["status"] == "sending":
        claimed = parse_stamp(doc.get("claimed_until"))
        return claimed is not None and claimed <= now  # a drainer died holding it
    due = parse_stamp(doc.get("due_at"))
    return due is None or due <= now


def _send_one(
    store: DocumentStore,
    receiver: ReceiverSpec,
    transport: Transport,
    doc: Document,
    now: datetime,
    report: DrainReport,
) -> bool:
    """Claim, send, record; False when the receiver failed (the caller stops for this receiver)."""
    claim = _body(doc, status="sending", claimed_until=stamp(now + CLAIM_FOR))
    (claimed,) = store.write_many(ALERTS_CONTAINER, [WriteOp.replace(claim, doc["_etag"])])
    if not claimed.ok or claimed.doc is None:
        return True  # another drainer has it
    try:
        transport.send(receiver, doc["message"])
    except DeliveryFailed as error:
        attempts = int(doc.get("attempts", 0)) + 1
        wait = backoff(attempts)
        if error.retry_after_s is not None:
            wait = max(wait, timedelta(seconds=error.retry_after_s))
        retry = _body(doc, status="pending", attempts=attempts, due_at=stamp(now + wait), last_error=str(error)[:500])
        store.write_many(ALERTS_CONTAINER, [WriteOp.replace(retry, claimed.doc["_etag"])])
        report.failed += 1
        return False
    sent = _body(doc, status="sent", attempts=int(doc.get("attempts", 0)) + 1, sent_at=stamp(now), ttl=SENT_TTL_S)
    store.write_many(ALERTS_CONTAINER, [WriteOp.replace(sent, claimed.doc["_etag"])])
    report.sent.append(str(doc["message"]["message_id"]))
    return True


def _body(doc: Document, **changes: Any) -> Document:
    out = {k: v for k, v in doc.items() if not k.startswith("_")}
    out.update(changes)
    return out
