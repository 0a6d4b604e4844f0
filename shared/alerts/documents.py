"""Identities and shapes of the alert documents (container `alerts`).

- state ``state|<rule>|<scope>`` (partition ``alert|<rule>``): the instance of one
  rule at one scope key, with the transitions committed but not yet recorded
  (`unrecorded`: history and messages are written after the state commit, and a
  crash in between is repaired by the next evaluation);
- history ``history|<rule>|<scope>|<episode>|<seq>`` (partition ``history|<rule>|<UTC date>``):
  one per transition, with the values that caused it; expires after 90 days;
- silence ``silence|<rule>|<scope>|<start>`` (partition ``silence``);
- delivery ``msg|<receiver>|<digest>`` (partition ``outbox|<receiver>``): see `outbox.py`.

The alert id of an episode is ``<rule>|<scope>|<episode>``: deterministic, so one
problem is one alert, however often and on however many instances it is evaluated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from shared.alerts.machine import Instance
from shared.engine.documents import stamp
from shared.stores.port import Document
from shared.timestamps import parse_rfc3339

__all__ = [
    "ALERTS_CONTAINER",
    "alert_id",
    "history_doc",
    "history_pk",
    "instance_from",
    "parse_stamp",
    "state_doc",
    "state_id",
    "state_pk",
]

ALERTS_CONTAINER: Final = "alerts"


def state_id(rule: str, scope: str) -> str:
    return f"state|{rule}|{scope}"


def state_pk(rule: str) -> str:
    return f"alert|{rule}"


def alert_id(rule: str, scope: str, episode: int) -> str:
    """One alert per rule, scope key and episode."""
    return f"{rule}|{scope}|{episode}"


def history_pk(rule: str, at: str) -> str:
    return f"history|{rule}|{at[:10]}"


def parse_stamp(value: Any) -> datetime | None:
    """A stored timestamp back as an aware datetime (None stays None)."""
    return None if value is None else parse_rfc3339(str(value))


def instance_from(doc: Document | None) -> Instance:
    """The machine's view of a state document (a fresh instance when there is none)."""
    if doc is None:
        return Instance()
    return Instance(
        state=doc["state"],
        since=parse_stamp(doc.get("since")),
        active_since=parse_stamp(doc.get("active_since")),
        episode=int(doc.get("episode", 0)),
        seq=int(doc.get("seq", 0)),
        value=doc.get("value"),
    )


def state_doc(previous: Document | None, rule: str, scope: str, instance: Instance, **extra: Any) -> Document:
    """The new state document (keeps what `previous` had that the machine does not know)."""
    doc = {k: v for k, v in (previous or {}).items() if not k.startswith("_")}
    doc.update(
        id=state_id(rule, scope),
        pk=state_pk(rule),
        type="state",
        rule=rule,
        scope=scope,
        state=instance.state,
        since=None if instance.since is None else stamp(instance.since),
        active_since=None if instance.active_since is None else stamp(instance.active_since),
        episode=instance.episode,
        seq=instance.seq,
        value=instance.value,
        ttl=-1,  # an instance lives as long as its rule: its episode counter keeps alert ids unique
    )
    doc.setdefault("unrecorded", [])
    doc.update(extra)
    return doc


def history_doc(record: Document) -> Document:
    """The history document of a committed transition record (see `evaluator.transition_record`)."""
    return {
        **record,
        "id": f"history|{record['rule']}|{record['scope']}|{record['episode']}|{record['seq']}",
        "pk": history_pk(record["rule"], record["at"]),
        "type": "history",
    }
