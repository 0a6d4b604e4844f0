"""Messages: transitions grouped for a receiver, and their payloads (generic JSON, Teams, Slack).

Transitions of one rule to one state at one evaluation — or within one `group_wait`
bucket — that share the rule's `group_by` labels (e.g. the region of twelve silent
stores) make one message per receiver: a bucket's message waits until the bucket
ends, and transitions that come later in the bucket join it. A message's id is a
digest of what it groups, so writing it twice is impossible (the outbox creates it;
a second create conflicts, or joins the waiting message).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from shared.alerts.rules import RuleSpec
from shared.engine.documents import stamp
from shared.stores.port import Document
from shared.timestamps import parse_rfc3339

__all__ = ["build_message", "group_at", "group_records", "message_id", "render_payload", "title_of"]

_EMOJI: Final = {"firing": "🔴", "resolved": "✅", "no_data": "⚪", "error": "⚠️"}
_COLOUR: Final = {"firing": "attention", "resolved": "good", "no_data": "warning", "error": "warning"}


def message_id(receiver: str, rule: str, state: str, labels: Mapping[str, str], at: str, repeat: int) -> str:
    """Deterministic: the same group of the same evaluation always gets the same id."""
    text = "|".join([receiver, rule, state, *(f"{k}={v}" for k, v in sorted(labels.items())), at, str(repeat)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def group_records(rule: RuleSpec, records: Iterable[Document]) -> list[tuple[dict[str, str], list[Document]]]:
    """(group labels, records) per group: same state, evaluation and repeat number, same `group_by` labels."""
    groups: dict[tuple[Any, ...], tuple[dict[str, str], list[Document]]] = {}
    for record in records:
        labels: dict[str, str] = {
            name: str(record.get("labels", {}).get(name, "")) for name in rule.group_by if name != "rule"
        }
        if not rule.group_by:  # no grouping: one message per alert
            labels = {"scope": str(record["scope"])}
        key = (
            record["state"],
            group_at(rule, str(record["at"])),
            record.get("repeat", 0),
            tuple(sorted(labels.items())),
        )
        groups.setdefault(key, (labels, []))[1].append(record)
    return [groups[key] for key in sorted(groups, key=str)]


def group_at(rule: RuleSpec, at: str) -> str:
    """The group's time: the evaluation, or the start of its `group_wait` bucket (a bucket shares a message)."""
    wait = int(rule.group_wait.total_seconds())
    if wait <= 0:
        return at
    moment = parse_rfc3339(at)
    bucket = int(moment.timestamp()) // wait * wait
    return stamp(datetime.fromtimestamp(bucket, UTC))


def build_message(rule: RuleSpec, receiver: str, labels: dict[str, str], records: list[Document]) -> Document:
    """The receiver-neutral message of one group."""
    first = records[0]
    state, at, repeat = str(first["state"]), str(first["at"]), int(first.get("repeat", 0))
    return {
        "message_id": message_id(receiver, rule.name, state, labels, group_at(rule, at), repeat),
        "rule": rule.name,
        "state": state,
        "severity": rule.severity,
        "summary": rule.summary,
        "runbook": rule.runbook,
        "labels": labels,
        "repeat": repeat,
        "at": at,
        "alerts": [
            {
                "alert_id": r["alert_id"],
                "scope": r["scope"],
                "value": r.get("value"),
                "detail": r.get("detail", ""),
                "since": r.get("active_since") or r["at"],
                "labels": r.get("labels", {}),
            }
            for r in sorted(records, key=lambda r: str(r["scope"]))
        ],
    }


def title_of(message: Mapping[str, Any]) -> str:
    """``[FIRING] till-silent (region=DE_NORTH): 12 alerts``."""
    labels = ", ".join(f"{k}={v}" for k, v in message["labels"].items() if v)
    count = len(message["alerts"])
    what = message["alerts"][0]["scope"] if count == 1 else f"{count} alerts"
    repeat = " (reminder)" if message.get("repeat") else ""
    scope = f" ({labels})" if labels and count > 1 else ""
    return f"[{str(message['state']).upper()}] {message['rule']}{scope}: {what}{repeat}"


def _lines(message: Mapping[str, Any]) -> list[str]:
    return [f"{a['scope']}: {a['detail'] or a['value']} (since {a['since']})" for a in message["alerts"][:50]]


def render_payload(fmt: str, message: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body for a webhook of format ``generic``, ``teams`` or ``slack``."""
    title = f"{_EMOJI.get(str(message['state']), '')} {title_of(message)}".strip()
    lines = _lines(message)
    if fmt == "slack":  # Slack incoming webhook: text (fallback and notifications) plus blocks
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{message['summary']}\n" + "\n".join(lines)}},
        ]
        if message.get("runbook"):
            blocks.append(
                {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Runbook: {message['runbook']}"}]}
            )
        return {"text": title, "blocks": blocks}
    if fmt == "teams":  # Teams Workflows incoming webhook: a message with one Adaptive Card attachment
        body: list[dict[str, Any]] = [
            {
                "type": "TextBlock",
                "text": title,
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
                "color": _COLOUR.get(str(message["state"]), "default"),
            },
            {"type": "TextBlock", "text": str(message["summary"]), "wrap": True},
            *({"type": "TextBlock", "text": line, "wrap": True, "spacing": "None"} for line in lines),
        ]
        card: dict[str, Any] = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": body,
        }
        if message.get("runbook"):
            card["actions"] = [{"type": "Action.OpenUrl", "title": "Runbook", "url": str(message["runbook"])}]
        attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        return {"type": "message", "attachments": [attachment]}
    return {"title": title, **message}
