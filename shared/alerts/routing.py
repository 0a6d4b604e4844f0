"""From committed transitions to history documents and grouped deliveries (idempotent: deterministic ids)."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.alerts.documents import ALERTS_CONTAINER, history_doc, parse_stamp
from shared.alerts.messages import build_message, group_at, group_records
from shared.alerts.outbox import delivery_doc, enqueue
from shared.sla.config import SlaConfig
from shared.stores.port import Document, DocumentStore, WriteOp

__all__ = ["planned_deliveries", "record_transitions"]


def record_transitions(store: DocumentStore, config: SlaConfig, records: list[Document], now: datetime) -> int:
    """Create the history documents and grouped deliveries of `records` (idempotent); returns new deliveries."""
    if not records:
        return 0
    histories = [history_doc(r) for r in records if not r.get("repeat")]
    if histories:
        store.write_many(ALERTS_CONTAINER, [WriteOp.create(h) for h in histories])
    return enqueue(store, planned_deliveries(config, records, now))


def planned_deliveries(config: SlaConfig, records: list[Document], now: datetime) -> list[Document]:
    """The grouped deliveries of the notified, unsilenced `records` (what `pulse alerts test` shows)."""
    deliveries: list[Document] = []
    by_rule: dict[str, list[Document]] = {}
    for record in records:
        if record["notify"] and not record["silenced"]:
            by_rule.setdefault(str(record["rule"]), []).append(record)
    for name, rule_records in by_rule.items():
        try:
            rule = config.rule(name)
        except KeyError:
            continue  # the rule was removed from the file since: its transitions stay in the history only
        for labels, group in group_records(rule, rule_records):
            not_before = parse_stamp(max((str(r["not_before"]) for r in group if r.get("not_before")), default=None))
            if rule.group_wait > timedelta(0):
                bucket = parse_stamp(group_at(rule, str(group[0]["at"])))
                assert bucket is not None
                not_before = max(filter(None, (not_before, bucket + rule.group_wait)))
            for receiver in rule.receivers:
                message = build_message(rule, receiver, labels, group)
                deliveries.append(delivery_doc(receiver, message, now, not_before))
    return deliveries
