"""Silences: mute a rule at a scope (or every scope, ``*``) until they expire.

A silenced transition is still recorded in the alert history (marked ``silenced``);
only its messages are not sent. Silences are documents, so every evaluator sees them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from shared.alerts.documents import ALERTS_CONTAINER, parse_stamp
from shared.engine.documents import stamp
from shared.stores.port import Document, DocumentStore

__all__ = ["ANY", "Silence", "active_silences", "add_silence", "is_silenced"]

ANY: Final = "*"
_PK: Final = "silence"


@dataclass(frozen=True, slots=True)
class Silence:
    """A rule (or ``*``) at a scope key (or ``*``), from `starts_at` until `expires_at`."""

    rule: str
    scope: str
    starts_at: datetime
    expires_at: datetime
    comment: str = ""

    def matches(self, rule: str, scope: str, at: datetime) -> bool:
        return self.rule in (ANY, rule) and self.scope in (ANY, scope) and self.starts_at <= at < self.expires_at


def add_silence(store: DocumentStore, silence: Silence) -> Document:
    """Store `silence`; it disappears a day after it expires."""
    if silence.expires_at <= silence.starts_at:
        raise ValueError("a silence must end after it starts")
    life = (silence.expires_at - silence.starts_at) + timedelta(days=1)
    doc = {
        "id": f"silence|{silence.rule}|{silence.scope}|{stamp(silence.starts_at)}",
        "pk": _PK,
        "type": "silence",
        "rule": silence.rule,
        "scope": silence.scope,
        "starts_at": stamp(silence.starts_at),
        "expires_at": stamp(silence.expires_at),
        "comment": silence.comment,
        "ttl": int(life.total_seconds()),
    }
    return store.upsert(ALERTS_CONTAINER, doc)


def active_silences(store: DocumentStore, now: datetime) -> list[Silence]:
    """Silences in force at `now`."""
    out = []
    for doc in store.query(ALERTS_CONTAINER, pk=_PK, where={"type": "silence"}):
        starts, expires = parse_stamp(doc["starts_at"]), parse_stamp(doc["expires_at"])
        assert starts is not None and expires is not None
        silence = Silence(str(doc["rule"]), str(doc["scope"]), starts, expires, str(doc.get("comment", "")))
        if silence.starts_at <= now < silence.expires_at:
            out.append(silence)
    return out


def is_silenced(silences: list[Silence], rule: str, scope: str, at: datetime) -> bool:
    """True when any of `silences` covers (rule, scope) at `at`."""
    return any(s.matches(rule, scope, at) for s in silences)
