"""Shapes of the engine's documents, and the small helpers that build and bump them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from shared.engine.views import DocKey
from shared.stores.port import Document

__all__ = [
    "STATE_VERSION",
    "bump",
    "event_hash",
    "event_hashes",
    "new_document",
    "position",
    "positions",
    "stamp",
    "writable",
]

STATE_VERSION = 1
"""Version of the stored aggregate layout; a reader refuses documents of another version."""


def event_hash(event_id: str) -> str:
    """A 16-hex-digit digest of an event id (64 bits): small to store; in a document of
    10,000 ids the chance of any collision is about 3e-12."""
    return hashlib.blake2b(event_id.encode("utf-8"), digest_size=8).hexdigest()


def event_hashes(event_ids: Iterable[str]) -> list[str]:
    """`event_hash` of each id (a batch at a time: the ingest hot path)."""
    blake2b = hashlib.blake2b
    return [blake2b(event_id.encode("utf-8"), digest_size=8).hexdigest() for event_id in event_ids]


def position(partition: str, sequence_number: int) -> str:
    """Where a message sits in its hub: ``partition:sequence``."""
    return f"{partition}:{sequence_number}"


def positions(partition: str, sequence_numbers: Iterable[int]) -> list[str]:
    """`position` of each sequence number of one partition."""
    return [f"{partition}:{sequence_number}" for sequence_number in sequence_numbers]


def new_document(key: DocKey) -> Document:
    """An empty aggregate document at `key`."""
    return {
        "id": key.id,
        "pk": key.pk,
        "view": key.view,
        "key": key.key,
        "window": key.window,
        "state_version": STATE_VERSION,
        "v": 0,
        "as_of": None,
        "segments": {},
        "applied": {},
    }


def writable(doc: Document) -> Document:
    """A copy safe to modify: nested maps that the engine mutates are copied too."""
    if doc.get("state_version", STATE_VERSION) != STATE_VERSION:
        raise ValueError(f"document {doc['id']} has state_version {doc['state_version']}, expected {STATE_VERSION}")
    out = {k: v for k, v in doc.items() if not k.startswith("_")}
    for name in ("segments", "applied", "ids", "refused", "attrs"):
        if name in out:
            out[name] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in out[name].items()}
    if "statuses" in out:
        out["statuses"] = list(out["statuses"])
    return out


def bump(doc: Document, now: datetime) -> None:
    """Mark a new version of `doc` made at processing time `now`."""
    doc["v"] = int(doc.get("v", 0)) + 1
    current = stamp(now)
    previous: Any = doc.get("as_of")
    doc["as_of"] = current if previous is None or current > previous else previous


def stamp(now: datetime) -> str:
    """Fixed-width UTC timestamp with milliseconds, so that strings order as times do."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
