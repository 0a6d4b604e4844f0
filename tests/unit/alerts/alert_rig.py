"""Scenario rig for alerts: the real embedded pipeline, a simulated clock, the real evaluator and outbox."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shared.alerts.evaluator import AlertEvaluator, EvaluationReport
from shared.alerts.outbox import DeliveryFailed, DrainReport, drain
from shared.alerts.rules import ReceiverSpec
from shared.reference.models import Store
from shared.sla.config import SlaConfig, parse_config
from shared.stores.port import Document
from tests.unit.web.web_rig import WebRig, sale

__all__ = ["AlertRig", "RecordingTransport", "config_from"]

RECEIVERS = """
[[receiver]]
name = "hook"
kind = "webhook"
url_setting = "TEST_HOOK_URL"
"""


def config_from(text: str) -> SlaConfig:
    """A config from TOML text (with version 1 and the `hook` receiver added)."""
    return parse_config(tomllib.loads("version = 1\n" + RECEIVERS + text))


class RecordingTransport:
    """A receiver that records what it took, and is down while `down_until` is ahead of the clock."""

    def __init__(self) -> None:
        self.received: list[tuple[datetime, Document]] = []
        self.down_until: datetime | None = None
        self.now: datetime | None = None
        self.refused = 0

    def send(self, receiver: ReceiverSpec, message: Document) -> None:
        assert self.now is not None
        if self.down_until is not None and self.now < self.down_until:
            self.refused += 1
            raise DeliveryFailed("connection refused")
        self.received.append((self.now, message))


class AlertRig(WebRig):
    """A `WebRig` with an evaluator over some stores of the demo chain."""

    def __init__(self, tmp_path: Path, config: SlaConfig, store_ids: Iterable[str] | None = None) -> None:
        super().__init__(tmp_path)
        self.config = config
        wanted = None if store_ids is None else set(store_ids)
        members = self.session.pipeline.reference.stores.members()
        self.stores: list[Store] = [s for s in members if wanted is None or s.store_id in wanted]
        self.evaluator = AlertEvaluator(self.store, config, self.stores)
        self.transport = RecordingTransport()
        self.n = 0
        self.queued: list[tuple[datetime, str, str, bytes]] = []

    def sales(self, store_id: str, at: datetime, amount: str = "30.45", enqueued: datetime | None = None) -> None:
        """Queue a sale; it reaches the log when the clock passes its enqueued time (1 s after the sale)."""
        self.n += 1
        self.queue("txn", store_id, sale(self.n, store_id, at, amount), enqueued or at + timedelta(seconds=1))

    def queue(self, source: str, key: str, raw: bytes, enqueued: datetime) -> None:
        self.queued.append((enqueued, source, key, raw))
        self.queued.sort(key=lambda q: q[0])

    def settle(self, now: datetime, processed_at: datetime | None = None) -> None:
        """Send what is due by `now`, then process it with processing time `processed_at` (default `now`)."""
        while self.queued and self.queued[0][0] <= now:
            enqueued, source, key, raw = self.queued.pop(0)
            self.send_body(source, key, raw, enqueued)
        super().settle(processed_at or now)

    def evaluate(self, now: datetime) -> EvaluationReport:
        return self.evaluator.evaluate(now)

    def drain(self, now: datetime) -> DrainReport:
        self.transport.now = now
        return drain(self.store, self.config.receivers, self.transport, now)

    def states(self, report: EvaluationReport) -> list[tuple[str, str, str]]:
        return [(r["scope"], r["from"], r["state"]) for r in report.transitions]

    def history(self) -> list[dict[str, Any]]:
        docs = self.store.query("alerts", where={"type": "history"})
        return sorted(docs, key=lambda d: (d["at"], d["scope"], d["seq"]))


def every(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    out, at = [], start
    while at <= end:
        out.append(at)
        at += step
    return out
