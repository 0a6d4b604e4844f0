"""One evaluation of every rule at every scope: states advanced, transitions recorded, messages queued.

Safe to run twice at the same moment on two instances: a state document is written
with its ETag (create, or replace on the ETag read), so of two evaluators that
computed the same transition only one commits it; the other's write fails and it
records nothing. The committed transitions ride in the state document
(`unrecorded`) until their history documents and messages exist; both have
deterministic ids, so writing them again (after a crash, by the next evaluation)
duplicates nothing. A (rule, scope) that was never active costs no document at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.alerts.conditions import QUIET, apply_no_data_policy, observe
from shared.alerts.documents import (
    ALERTS_CONTAINER,
    alert_id,
    instance_from,
    parse_stamp,
    state_doc,
)
from shared.alerts.machine import Instance, Observation, Step, Timing, step
from shared.alerts.probes import PushLag, write_probe
from shared.alerts.routing import record_transitions
from shared.alerts.rules import RuleSpec
from shared.alerts.signals import Signals
from shared.alerts.silences import Silence, active_silences, is_silenced
from shared.engine.documents import stamp
from shared.engine.windows import minute_of
from shared.reference.models import Store
from shared.sla.config import SlaConfig
from shared.stores.port import Document, DocumentStore, WriteOp

__all__ = ["AlertEvaluator", "EvaluationReport"]

_HOT = frozenset({"firing", "recovering"})


@dataclass(slots=True)
class EvaluationReport:
    """What one evaluation saw and did."""

    evaluated: int = 0
    """(rule, scope key) pairs evaluated."""
    transitions: list[Document] = field(default_factory=list)
    """Transition records this evaluator committed (or would commit, in a dry run)."""
    queued: int = 0
    """New deliveries in the outbox."""
    lost_races: int = 0
    """State writes another evaluator made first."""
    errors: list[str] = field(default_factory=list)


class AlertEvaluator:
    """Evaluates the rules of `config` on the documents of `store`, with the stores of the reference data."""

    def __init__(
        self,
        store: DocumentStore,
        config: SlaConfig,
        stores: Iterable[Store],
        *,
        push_lag: PushLag | None = None,
        live_from: datetime | None = None,
    ) -> None:
        """`push_lag` reports the Power BI push lag for the minute probes (None: no sink on this host);
        `live_from`: platform metrics count from then (`Signals`)."""
        self._store, self._config, self._push_lag, self._live_from = store, config, push_lag, live_from
        self._probed: str | None = None
        self._stores = list(stores)
        self._regions: dict[str, str] = {}
        self._first_seen: dict[str, str] = {}

    def evaluate(self, now: datetime, *, dry_run: bool = False, rules: Sequence[str] | None = None) -> EvaluationReport:
        """Evaluate at `now` (the caller's clock: simulated in the demo); `dry_run` writes nothing."""
        report = EvaluationReport()
        states = {doc["id"]: doc for doc in self._store.query(ALERTS_CONTAINER, where={"type": "state"})}
        if not dry_run:
            self._recover(states, report)
            if self._probed != minute_of(now):  # output availability, once a minute (`probes.py`)
                write_probe(self._store, now, self._push_lag)
                self._probed = minute_of(now)
        signals = Signals(self._store, self._stores, now, self._first_seen, self._live_from)
        self._regions = {key: s.region for key, s in signals.stores.items()}
        silences = active_silences(self._store, now)
        ops: list[WriteOp] = []
        pending: dict[str, list[Document]] = {}
        for rule in self._config.rules:
            if rules is not None and rule.name not in rules:
                continue
            for key, doc, instance, record, extras in self._evaluate_rule(rule, signals, states, silences, now, report):
                new = state_doc(doc, rule.name, key, instance, **extras)
                new["unrecorded"] = [*(doc.get("unrecorded", []) if doc else []), record]
                ops.append(WriteOp.replace(new, doc["_etag"]) if doc else WriteOp.create(new))
                pending[new["id"]] = [record]
                report.transitions.append(record)
        if rules is None:
            for op, record in self._retire(states, now):
                ops.append(op)
                pending[op.doc["id"]] = [record]
                report.transitions.append(record)
        if dry_run or not ops:
            return report
        committed = []
        for op, result in zip(ops, self._store.write_many(ALERTS_CONTAINER, ops), strict=True):
            if result.ok and result.doc is not None:
                committed.append(result.doc)
            else:
                report.lost_races += 1
                lost = set(id(r) for r in pending[op.doc["id"]])
                report.transitions = [r for r in report.transitions if id(r) not in lost]
        report.queued += self._record(committed, now)
        return report

    def _evaluate_rule(
        self,
        rule: RuleSpec,
        signals: Signals,
        states: dict[str, Document],
        silences: list[Silence],
        now: datetime,
        report: EvaluationReport,
    ) -> Iterable[tuple[str, Document | None, Instance, Document, dict[str, Any]]]:
        """Per scope key whose state document must change: (key, its document, new state, record, extra fields)."""

        mine = {doc["scope"]: doc for doc in states.values() if doc["rule"] == rule.name}
        slo = self._config.slo(rule.slo) if rule.slo else None
        try:
            observations = observe(rule, signals, slo, {key: doc["state"] for key, doc in mine.items()})
        except Exception as error:  # a broken rule must not stop the others: it becomes an error state
            report.errors.append(f"{rule.name}: {type(error).__name__}: {error}")
            observations = {key: Observation("error", None, str(error)[:200]) for key in signals.members(rule.scope)}
        timing = Timing(rule.for_, rule.keep_firing_for)
        report.evaluated += len(observations)
        for key, raw in observations.items():
            if raw is QUIET:
                continue  # the common case: nothing ever happened here, nothing to write
            doc = mine.get(key)
            obs = apply_no_data_policy(rule, raw, doc is not None and doc["state"] in _HOT)
            if doc is None and obs.outcome == "inactive":
                continue
            current = instance_from(doc)
            result = step(current, obs, now, timing)
            last_notified = parse_stamp(doc.get("last_notified_at")) if doc else None
            repeats = int(doc.get("repeats", 0)) if doc else 0
            if result.changed:
                record = self._record_of(rule, key, result, obs, now, silences, last_notified)
                extras = {
                    "last_notified_at": stamp(now) if result.notify else _text(last_notified),
                    "repeats": 0,
                    **_display(rule, record),
                }
                yield key, doc, result.instance, record, extras
            elif (
                current.state == "firing" and last_notified is not None and now - last_notified >= rule.repeat_interval
            ):
                record = self._record_of(rule, key, result, obs, now, silences, None, repeat=repeats + 1)
                yield key, doc, current, record, {"last_notified_at": stamp(now), "repeats": repeats + 1}
            # a changed value alone is not worth a write: the history has the values of every transition

    def _retire(self, states: dict[str, Document], now: datetime) -> list[tuple[WriteOp, Document]]:
        """Alerts of rules no longer in the file go back to normal (history only: there is no rule to route by)."""
        known = {rule.name for rule in self._config.rules}
        ops = []
        for doc in states.values():
            if doc["rule"] in known or doc["state"] == "normal":
                continue
            current = instance_from(doc)
            instance = Instance("normal", now, None, current.episode, current.seq + 1, None)
            record = {
                "rule": doc["rule"],
                "scope": doc["scope"],
                "scope_kind": doc.get("scope_kind", ""),
                "alert_id": alert_id(doc["rule"], doc["scope"], current.episode),
                "episode": current.episode,
                "seq": instance.seq,
                "from": current.state,
                "state": "normal",
                "at": stamp(now),
                "active_since": None,
                "value": None,
                "detail": "the rule was removed from the rules file",
                "severity": doc.get("severity", ""),
                "labels": doc.get("labels") or {},
                "notify": False,
                "repeat": 0,
                "silenced": False,
                "not_before": None,
            }
            new = state_doc(doc, doc["rule"], doc["scope"], instance, detail=record["detail"])
            new["unrecorded"] = [*doc.get("unrecorded", []), record]
            ops.append((WriteOp.replace(new, doc["_etag"]), record))
        return ops

    def _record_of(
        self,
        rule: RuleSpec,
        key: str,
        result: Step,
        obs: Observation,
        now: datetime,
        silences: list[Silence],
        last_notified: datetime | None,
        repeat: int = 0,
    ) -> Document:
        inst = result.instance
        region = key if rule.scope == "region" else self._regions.get(key, "")
        not_before = None
        if inst.state == "firing" and last_notified is not None and last_notified + rule.cooldown > now:
            not_before = stamp(last_notified + rule.cooldown)
        return {
            "rule": rule.name,
            "scope": key,
            "scope_kind": rule.scope,
            "alert_id": alert_id(rule.name, key, inst.episode),
            "episode": inst.episode,
            "seq": inst.seq,
            "from": result.previous,
            "state": inst.state,
            "at": stamp(now),
            "active_since": None if inst.active_since is None else stamp(inst.active_since),
            "value": obs.value,
            "detail": obs.detail,
            "severity": rule.severity,
            "labels": {"region": region} if region else {},
            "notify": result.notify or repeat > 0,
            "repeat": repeat,
            "silenced": is_silenced(silences, rule.name, key, now),
            "not_before": not_before,
        }

    def _record(self, committed: list[Document], now: datetime) -> int:
        """History and deliveries of the committed documents' unrecorded transitions, then clear them."""
        queued = record_transitions(self._store, self._config, [r for d in committed for r in d["unrecorded"]], now)
        clears = [WriteOp.replace({**_plain(d), "unrecorded": []}, d["_etag"]) for d in committed]
        self._store.write_many(ALERTS_CONTAINER, clears)  # a lost race here: the winner records them too
        return queued

    def _recover(self, states: dict[str, Document], report: EvaluationReport) -> None:
        """Transitions a crashed evaluation committed but did not record."""
        stuck = [doc for doc in states.values() if doc.get("unrecorded")]
        if stuck:
            latest = parse_stamp(max(str(r["at"]) for d in stuck for r in d["unrecorded"]))
            assert latest is not None
            report.queued += self._record(stuck, latest)
            for doc in self._store.read_many(ALERTS_CONTAINER, [(d["pk"], d["id"]) for d in stuck]).values():
                states[doc["id"]] = doc


def _display(rule: RuleSpec, record: Document) -> Document:
    """What the page shows of a state without reading the rules file: where it points, which tile it marks."""
    return {
        "detail": record["detail"],
        "severity": rule.severity,
        "summary": rule.summary,
        "runbook": rule.runbook,
        "labels": record["labels"],
        "tile": tile_of(rule),
    }


def tile_of(rule: RuleSpec) -> str | None:
    """The live page tile a rule watches (marked while it fires), if any."""
    if rule.kind == "heartbeat":
        return "transactions" if rule.source == "txn" else None
    if rule.kind == "burn_rate":
        return "lag_p95_ms" if rule.slo and "fresh" in rule.slo else "dead_letter_rate"
    return rule.metric


def _plain(doc: Document) -> Document:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def _text(value: datetime | None) -> str | None:
    return None if value is None else stamp(value)
