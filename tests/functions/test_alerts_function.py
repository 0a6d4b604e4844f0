"""The alerts timer as the worker calls it: lease, evaluation, delivery to a real local webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from azure.functions.timer import TimerRequest

from functions.alerts import ALERTS_SCHEDULE, alert_cycle, reset_alert_cycle
from shared.alerts.evaluator_lease import EvaluatorLease
from tests.functions.app_env import AppEnv
from tests.functions.indexed import FUNCTIONS
from tests.functions.trigger_inputs import event_batch
from tests.support.samples import body

RULES = """
version = 1

[[receiver]]
name = "ops-teams"
kind = "webhook"
format = "teams"
url_setting = "TEST_TEAMS_URL"

[[rule]]
name = "source-silent"
kind = "heartbeat"
scope = "source"
source = "txn"
silent_for = "10m"
severity = "page"
summary = "no transactions for 10 minutes"
receivers = ["ops-teams"]
runbook = "https://runbooks.example/source-silent"
"""


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Receiver(BaseHTTPRequestHandler):
    bodies: ClassVar[list[tuple[dict[str, str], Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).bodies.append((dict(self.headers), json.loads(self.rfile.read(length))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    _Receiver.bodies = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def test_the_timer_is_indexed_every_30_seconds() -> None:
    (binding,) = [json.loads(b) for b in FUNCTIONS["alerts_evaluate"].get_raw_bindings()]
    assert binding == {
        "direction": "IN",
        "type": "timerTrigger",
        "name": "timer",
        "schedule": ALERTS_SCHEDULE,
        "runOnStartup": False,
        "useMonitor": True,
    }


def test_a_silent_source_pages_through_the_webhook_and_resolves_once_it_sends(
    app_env: AppEnv, tmp_path: Path, webhook: str
) -> None:
    rules = tmp_path / "slas.toml"
    rules.write_text(RULES)
    app_env.set(ALERTS_RULES_FILE=str(rules), TEST_TEAMS_URL=webhook)
    reset_alert_cycle()
    now = datetime.now(UTC)
    visit = body("traffic", 1, store_id="DE001", period_start=_stamp(now - timedelta(minutes=16)))
    app_env.call(
        "ingest_traffic",
        event_batch([visit], partition="0", first_seq=0, enqueued=now - timedelta(minutes=15), hub="pulse-traffic"),
    )
    timer = TimerRequest(past_due=False)
    FUNCTIONS["alerts_evaluate"].get_user_function()(timer)  # the pipeline ran 15 minutes without a transaction
    FUNCTIONS["alerts_evaluate"].get_user_function()(timer)  # still firing: no second message
    assert len(_Receiver.bodies) == 1
    headers, payload = _Receiver.bodies[0]
    card = payload["attachments"][0]["content"]
    assert payload["type"] == "message" and card["type"] == "AdaptiveCard"
    assert card["body"][0]["text"] == "🔴 [FIRING] source-silent: txn"
    assert card["actions"][0]["url"] == "https://runbooks.example/source-silent"
    assert headers["Idempotency-Key"]

    now = datetime.now(UTC)
    sale = body("txn", 1, merchant_id="DE001", posted_ts=_stamp(now - timedelta(seconds=5)))
    app_env.call("ingest_txn", event_batch([sale], partition="0", first_seq=0, enqueued=now))
    FUNCTIONS["alerts_evaluate"].get_user_function()(timer)
    assert [p["attachments"][0]["content"]["body"][0]["text"] for _, p in _Receiver.bodies] == [
        "🔴 [FIRING] source-silent: txn",
        "✅ [RESOLVED] source-silent: txn",
    ]
    reset_alert_cycle()


def test_only_the_lease_holder_evaluates(app_env: AppEnv, tmp_path: Path) -> None:
    rules = tmp_path / "slas.toml"
    rules.write_text(RULES)
    app_env.set(ALERTS_RULES_FILE=str(rules))
    reset_alert_cycle()
    now = datetime.now(UTC)
    other = EvaluatorLease(app_env.store, "another-instance")
    assert other.acquire(now)
    assert alert_cycle().run(now).leader is False
    assert not alert_cycle().lease.acquire(now + timedelta(seconds=30))  # still held
    assert alert_cycle().run(now + timedelta(minutes=3)).leader is True  # expired: taken over
    assert not other.acquire(now + timedelta(minutes=3))
    reset_alert_cycle()
