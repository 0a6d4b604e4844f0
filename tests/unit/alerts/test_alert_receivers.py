"""The receivers' adapter: Power BI rows through the outbox, the log line, webhook settings, payload shapes."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from shared.alerts.messages import render_payload
from shared.alerts.outbox import DeliveryFailed
from shared.alerts.rules import ReceiverSpec
from shared.sinks.alert_receivers import ALERT_LOGGER, ReceiverTransport
from shared.sinks.dataset import ALERTS_TABLE
from shared.sinks.outbox import Outbox
from shared.stores.embedded import SqliteDocumentStore

MESSAGE = {
    "message_id": "m1",
    "rule": "till-silent",
    "state": "firing",
    "severity": "ticket",
    "summary": "an open store has sent no till transaction",
    "runbook": "docs/alerts.md#till-silent",
    "labels": {"region": "DE_NORTH"},
    "repeat": 0,
    "at": "2026-11-26T10:45:00.000Z",
    "alerts": [
        {
            "alert_id": f"till-silent|DE00{i}|1",
            "scope": f"DE00{i}",
            "value": None,
            "detail": "no txn for 20m",
            "since": "2026-11-26T10:45:00.000Z",
            "labels": {"region": "DE_NORTH"},
        }
        for i in (1, 2)
    ],
}


def test_powerbi_rows_wait_in_the_outbox_and_the_log_line_is_structured(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with SqliteDocumentStore(tmp_path / "x.db") as store:
        transport = ReceiverTransport(store, {}, lambda: 1_764_150_000.0)
        transport.send(ReceiverSpec(name="pbi", kind="powerbi"), MESSAGE)
        pending = Outbox(store, [ALERTS_TABLE], clock=lambda: 1_764_150_000.0).peek("alerts", 100)
        assert [r["alert_id"] for r in pending.rows] == ["till-silent|DE001|1", "till-silent|DE002|1"]
        assert all(r["region"] == "DE_NORTH" and r["state"] == "firing" for r in pending.rows)
        with caplog.at_level(logging.INFO, logger=ALERT_LOGGER):
            transport.send(ReceiverSpec(name="mail", kind="log"), MESSAGE)
        assert (
            caplog.records[-1].getMessage().startswith('pulse-alert {"title":"[FIRING] till-silent (region=DE_NORTH)')
        )


def test_a_webhook_without_its_setting_waits_and_names_the_setting(tmp_path: Path) -> None:
    with SqliteDocumentStore(tmp_path / "x.db") as store:
        transport = ReceiverTransport(store, {}, lambda: 0.0)
        with pytest.raises(DeliveryFailed, match="setting HOOK_URL is not set"):
            transport.send(ReceiverSpec(name="hook", kind="webhook", url_setting="HOOK_URL"), MESSAGE)
        plain = ReceiverTransport(store, {"HOOK_URL": "http://example.com/x"}, lambda: 0.0)
        with pytest.raises(DeliveryFailed, match="must be an https:// URL"):
            plain.send(ReceiverSpec(name="hook", kind="webhook", url_setting="HOOK_URL"), MESSAGE)


def test_slack_and_generic_shapes() -> None:
    slack = render_payload("slack", MESSAGE)
    assert slack["text"] == "🔴 [FIRING] till-silent (region=DE_NORTH): 2 alerts"
    assert [b["type"] for b in slack["blocks"]] == ["header", "section", "context"]
    generic = render_payload("generic", MESSAGE)
    assert generic["message_id"] == "m1" and len(generic["alerts"]) == 2
