"""The event-id registry: an event id counts once across the lateness horizon, whatever its window.

One small document per (source, event id) in the `eventids` container, created by
the first message that carries the id and kept (Cosmos DB TTL) for the accepted
lateness plus the clock-skew allowance and a day: a copy received later than that
is too late anyway. A create either wins (this message owns the id) or finds the
owner. The owner's position decides:

- the same position: this very message, written by an earlier attempt (a
  redelivery, or a replay after a crash between two writes): it still owns the id;
- another position, the same content: a producer duplicate, counted once;
- another position, other content: a conflict, dead-lettered as
  `conflicting_duplicate` with both versions in words (the copy's bytes in the dead
  letter, sealed; the first version in its reason, with personal fields masked).

The registry keeps no body in clear: a digest of the first version's content (its JSON
value, so field order and number spelling aside) to tell a copy from a conflict, and a
masked copy (customer and account ids replaced) to show in the reason.

Cost: one create per distinct event (a batch's creates go in one `write_many`), plus
a point read per copy. See docs/engine.md ("Event ids").
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, NamedTuple

import orjson

from shared.pipeline.limits import Limits
from shared.pipeline.masking import mask_personal
from shared.stores.port import Document, DocumentStore, TransientStoreError, WriteOp
from shared.topology import EVENT_IDS_CONTAINER

__all__ = ["Claims", "claim_event_ids", "content_digest", "registry_id", "registry_ttl"]


class _Owner(NamedTuple):
    position: str
    content: str
    """`content_digest` of the first version."""
    masked: str
    """The first version with personal fields masked."""
    received: str


class Claims(NamedTuple):
    """What the registry says about a batch's events, by position (owners are absent)."""

    duplicates: set[str]
    conflicts: dict[str, str]
    """Reason in words of each conflicting copy."""
    written: int


class Claimant(NamedTuple):
    """What the registry needs of one event: its id, message position, raw bytes and receipt."""

    event_id: str
    position: str
    raw: bytes
    received: str


def registry_id(source: str, event_id: str) -> str:
    """``<source>|<32 hex digits>``: a 128-bit digest keeps any event id a valid document id."""
    return f"{source}|{hashlib.blake2b(event_id.encode('utf-8'), digest_size=16).hexdigest()}"


def registry_ttl(limits: Limits) -> int:
    """Seconds a registry entry lives: lateness + clock skew + a day of margin."""
    return int((limits.accepted_lateness + limits.max_future + timedelta(days=1)).total_seconds())


def claim_event_ids(store: DocumentStore, source: str, claimants: Sequence[Claimant], ttl_s: int) -> Claims:
    """Claim each event id of `claimants` (one batch, in sequence order) for its message."""
    first: dict[str, Claimant] = {}
    for claimant in claimants:
        first.setdefault(claimant.event_id, claimant)
    ids = {event_id: registry_id(source, event_id) for event_id in first}
    mine = {event_id: _owner_of(claimant) for event_id, claimant in first.items()}  # computed once per id
    ops = [WriteOp.create(_entry(ids[event_id], owner, ttl_s)) for event_id, owner in mine.items()]
    results = store.write_many(EVENT_IDS_CONTAINER, ops)
    owners: dict[str, _Owner] = {}
    taken: list[str] = []
    for (event_id, owner), result in zip(mine.items(), results, strict=True):
        if result.ok:
            owners[event_id] = owner
        else:
            taken.append(event_id)
    if taken:
        found = store.read_many(EVENT_IDS_CONTAINER, [(ids[e], ids[e]) for e in taken])
        for event_id in taken:
            doc = found.get(ids[event_id])
            if doc is None:  # expired between the create and the read: let the host retry the batch
                raise TransientStoreError(f"event-id registry entry {ids[event_id]} vanished; retry")
            owners[event_id] = _Owner(doc["position"], doc["content"], doc["masked"], doc["received"])
    duplicates: set[str] = set()
    conflicts: dict[str, str] = {}
    for claimant in claimants:
        owner = owners[claimant.event_id]
        if owner.position == claimant.position:
            continue
        if owner.content == content_digest(claimant.raw):
            duplicates.add(claimant.position)
        else:
            conflicts[claimant.position] = _conflict_reason(claimant, owner)
    return Claims(duplicates, conflicts, len(ops) - len(taken))


def _owner_of(claimant: Claimant) -> _Owner:
    return _Owner(claimant.position, content_digest(claimant.raw), mask_personal(claimant.raw), claimant.received)


def _entry(doc_id: str, owner: _Owner, ttl_s: int) -> Document:
    # Only what a copy is judged by, and nothing indexed (infra/retail_pulse_infra/indexing.py): the
    # source and the id are in the document id; the event id in clear is in the copy's dead letter.
    return {
        "id": doc_id,
        "pk": doc_id,
        "position": owner.position,
        "received": owner.received,
        "content": owner.content,
        "masked": owner.masked,
        "ttl": ttl_s,
    }


def content_digest(raw: bytes) -> str:
    """SHA-256 of the body's JSON value (keys sorted), or of its bytes when it is not JSON."""
    try:
        canonical = orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canonical = raw
    return hashlib.sha256(canonical).hexdigest()


def _conflict_reason(copy: Claimant, owner: _Owner) -> str:
    fields = _differing_fields(owner.masked.encode("utf-8"), mask_personal(copy.raw).encode("utf-8"))
    return (
        f"event_id {copy.event_id!r} was first received in message {owner.position} at {owner.received}"
        f" with different content ({fields}); that version counts, this copy does not."
        f" First version (personal fields masked): {owner.masked}"
    )


def _differing_fields(a: bytes, b: bytes) -> str:
    try:
        first: Any = orjson.loads(a)
        second: Any = orjson.loads(b)
    except orjson.JSONDecodeError:
        return "the bytes differ"
    names = sorted(k for k in set(first) | set(second) if first.get(k) != second.get(k))
    if not names:
        return "the bytes differ"
    listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f"differs in {listed}"
