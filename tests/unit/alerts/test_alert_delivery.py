"""Delivery: grouping, a receiver down for 60 s, two evaluators at once, silences, repeats."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.alerts.evaluator import AlertEvaluator
from shared.alerts.silences import Silence, add_silence
from shared.stores.port import ChangeFeedPage, Document, DocumentStore, WriteOp, WriteResult
from tests.unit.alerts.alert_rig import AlertRig, config_from

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # Thursday: every store below is open since 09:00 UTC at least
NORTH = [f"DE{n:03d}" for n in range(1, 12)]
UK = ["GB001", "GB002", "GB003"]
HEARTBEAT = """
[[rule]]
name = "till-silent"
kind = "heartbeat"
scope = "store"
silent_for = "15m"
receivers = ["hook"]
group_by = ["region"]
repeat_interval = "1h"
"""


def _running_before(rig: AlertRig) -> AlertRig:
    """The pipeline was receiving before the silence (one sale of a store the rule does not watch)."""
    rig.sales("PL001", T0 - timedelta(minutes=20))
    rig.settle(T0 - timedelta(minutes=19))
    return rig


def test_silent_stores_of_a_region_make_one_message_and_a_receiver_down_60s_loses_nothing(tmp_path: Path) -> None:
    rig = _running_before(AlertRig(tmp_path, config_from(HEARTBEAT), NORTH + UK))
    report = rig.evaluate(T0)
    assert len(report.transitions) == 14 and report.queued == 2  # 11 + 3 stores, one message per region
    rig.transport.down_until = T0 + timedelta(seconds=60)
    for second in range(0, 125, 5):
        rig.drain(T0 + timedelta(seconds=second))
    # attempts at 0, 5, 10, 15, 25, 45 s fail (backoff 1, 2, 4, 8, 16, 32 s); the next drain after 77 s sends both
    assert rig.transport.refused == 6
    received = [(at, m["labels"]["region"], len(m["alerts"])) for at, m in rig.transport.received]
    assert received == [(T0 + timedelta(seconds=80), "DE_NORTH", 11), (T0 + timedelta(seconds=80), "UK_SOUTH", 3)]
    assert rig.evaluate(T0 + timedelta(minutes=1)).transitions == []  # still firing: nothing new
    rig.drain(T0 + timedelta(minutes=2))
    assert len(rig.transport.received) == 2
    rig.close()


def test_a_firing_alert_is_repeated_after_its_interval_and_a_silence_mutes_it(tmp_path: Path) -> None:
    rig = _running_before(AlertRig(tmp_path, config_from(HEARTBEAT), ["DE001", "GB001"]))
    rig.evaluate(T0)
    add_silence(rig.store, Silence("till-silent", "GB001", T0, T0 + timedelta(hours=2), "store refit"))
    rig.evaluate(T0 + timedelta(minutes=30))
    rig.evaluate(T0 + timedelta(hours=1))  # repeat interval reached: a reminder, except for the silenced store
    rig.drain(T0 + timedelta(hours=1))
    sent = [(m["labels"]["region"], m["repeat"]) for _, m in rig.transport.received]
    assert sent == [("DE_NORTH", 0), ("UK_SOUTH", 0), ("DE_NORTH", 1)]
    rig.close()


class RacingStore(DocumentStore):
    """The real store, except that just before the first alert write another evaluator runs to completion."""

    def __init__(self, inner: DocumentStore) -> None:
        self.inner = inner
        self.before_first_write: Callable[[], None] | None = None

    def write_many(self, container: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        if container == "alerts" and self.before_first_write is not None:
            racer, self.before_first_write = self.before_first_write, None
            racer()
        return self.inner.write_many(container, ops)

    def read(self, container: str, pk: str, id: str) -> Document | None:
        return self.inner.read(container, pk, id)

    def read_many(self, container: str, keys: Sequence[tuple[str, str]]) -> dict[str, Document]:
        return self.inner.read_many(container, keys)

    def create(self, container: str, doc: Document) -> Document:
        return self.inner.create(container, doc)

    def replace(self, container: str, doc: Document, if_match: str) -> Document:
        return self.inner.replace(container, doc, if_match)

    def upsert(self, container: str, doc: Document) -> Document:
        return self.inner.upsert(container, doc)

    def delete(self, container: str, pk: str, id: str, if_match: str | None = None) -> None:
        self.inner.delete(container, pk, id, if_match)

    def query(self, container: str, **kwargs: Any) -> list[Document]:
        return self.inner.query(container, **kwargs)

    def change_feed(self, container: str, continuation: str | None, max_items: int = 1000) -> ChangeFeedPage:
        return self.inner.change_feed(container, continuation, max_items)


def test_two_evaluators_at_the_same_moment_deliver_once(tmp_path: Path) -> None:
    rig = _running_before(AlertRig(tmp_path, config_from(HEARTBEAT), ["DE001", "GB001"]))
    racing = RacingStore(rig.store)
    first = AlertEvaluator(racing, rig.config, rig.stores)
    second = AlertEvaluator(rig.store, rig.config, rig.stores)
    outcome: dict[str, Any] = {}
    racing.before_first_write = lambda: outcome.update(second=second.evaluate(T0))
    mine = first.evaluate(T0)  # read the same (empty) states, then lost every write to the second evaluator
    assert len(outcome["second"].transitions) == 2 and outcome["second"].queued == 2
    assert mine.lost_races == 2 and mine.transitions == [] and mine.queued == 0
    assert first.evaluate(T0).transitions == [] and second.evaluate(T0).transitions == []  # again: idempotent
    rig.drain(T0)
    assert [m["labels"]["region"] for _, m in rig.transport.received] == ["DE_NORTH", "UK_SOUTH"]
    assert [h["alert_id"] for h in rig.history()] == ["till-silent|DE001|1", "till-silent|GB001|1"]
    rig.close()


def test_a_crash_between_the_state_commit_and_the_history_is_repaired_by_the_next_evaluation(tmp_path: Path) -> None:
    rig = _running_before(AlertRig(tmp_path, config_from(HEARTBEAT), ["DE001"]))

    class Crash(Exception):
        pass

    class CrashAfterCommit(RacingStore):
        def write_many(self, container: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
            results = self.inner.write_many(container, ops)
            if container == "alerts" and ops[0].doc.get("type") == "state":
                raise Crash  # the state is committed; history and messages are not written
            return results

    with pytest.raises(Crash):
        AlertEvaluator(CrashAfterCommit(rig.store), rig.config, rig.stores).evaluate(T0)
    assert rig.history() == []
    assert rig.evaluate(T0 + timedelta(minutes=1)).queued == 1  # recovered: history and the one message
    assert [h["state"] for h in rig.history()] == ["firing"]
    rig.drain(T0 + timedelta(minutes=1))
    assert len(rig.transport.received) == 1
    rig.close()


def test_stores_going_silent_minutes_apart_join_one_message_within_group_wait(tmp_path: Path) -> None:
    rule = HEARTBEAT.replace('repeat_interval = "1h"', 'group_wait = "10m"')
    rig = AlertRig(tmp_path, config_from(rule), ["DE001", "DE002", "DE003"])
    rig.sales("PL001", T0 - timedelta(minutes=40))  # the pipeline runs from 09:20
    for store, last in (("DE001", 40), ("DE002", 42), ("DE003", 43)):  # a sale every 2 min, the last at 09:4x:10
        for minute in (*range(20, last, 2), last):
            rig.sales(store, T0 - timedelta(minutes=60 - minute, seconds=-10))
    fired = []
    for minute in range(-20, 5):
        now = T0 + timedelta(minutes=minute)
        rig.settle(now)
        fired += [(now, scope) for scope, _, state in rig.states(rig.evaluate(now)) if state == "firing"]
        rig.drain(now)
    minute = timedelta(minutes=1)
    assert fired == [(T0 - 4 * minute, "DE001"), (T0 - 2 * minute, "DE002"), (T0 - 1 * minute, "DE003")]
    received = [(at, [a["scope"] for a in m["alerts"]]) for at, m in rig.transport.received]
    assert received == [(T0, ["DE001", "DE002", "DE003"])]  # one message when the 09:50-10:00 bucket closed
    rig.close()


def test_an_alert_of_a_rule_removed_from_the_file_goes_back_to_normal(tmp_path: Path) -> None:
    rig = _running_before(AlertRig(tmp_path, config_from(HEARTBEAT), ["DE001"]))
    assert [t["state"] for t in rig.evaluate(T0).transitions] == ["firing"]
    without = AlertEvaluator(rig.store, config_from(""), rig.stores)
    report = without.evaluate(T0 + timedelta(minutes=1))
    assert [(t["from"], t["state"], t["detail"]) for t in report.transitions] == [
        ("firing", "normal", "the rule was removed from the rules file")
    ]
    assert without.evaluate(T0 + timedelta(minutes=2)).transitions == []
    assert [h["state"] for h in rig.history()] == ["firing", "normal"]
    rig.drain(T0 + timedelta(minutes=2))
    assert [m["state"] for _, m in rig.transport.received] == ["firing"]
    rig.close()
