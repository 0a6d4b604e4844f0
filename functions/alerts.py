"""Alerts: a timer evaluates every rule of `slas.toml` and drains the alert outbox, one instance at a time.

The timer fires every 30 seconds on every instance of the app; the evaluator lease
(``alerts-evaluator`` in the ``leases`` container, taken with its ETag) lets one of
them evaluate, the others return at once. The rules file ships with the app (the
repository root, next to function_app.py); webhook URLs come from the settings the
receivers name (Key Vault references). A failing receiver never fails the
invocation: its messages wait in the outbox with backoff.
"""

# No `from __future__ import annotations` here: the worker resolves these annotations to pick converters.
import logging
import os
import socket
import threading
import time
from pathlib import Path

import azure.functions as func

from functions._runtime import now, runtime
from shared.alerts.cycle import AlertCycle
from shared.sinks.alert_receivers import ReceiverTransport, outbox_push_lag
from shared.sla.config import load_config

__all__ = ["ALERTS_RULES_FILE_SETTING", "ALERTS_SCHEDULE", "alert_cycle", "alerts_evaluate", "bp", "reset_alert_cycle"]

bp = func.Blueprint()  # type: ignore[no-untyped-call]
logger = logging.getLogger(__name__)

ALERTS_SCHEDULE = "*/30 * * * * *"
"""NCRONTAB with seconds: every 30 s (rules hold conditions for minutes; 30 s keeps delays small)."""

ALERTS_RULES_FILE_SETTING = "ALERTS_RULES_FILE"
"""Optional: another rules file than the shipped `slas.toml` (a path on the worker)."""

_lock = threading.Lock()
_cycles: list[AlertCycle] = []


def alert_cycle() -> AlertCycle:
    """The worker's evaluator, built on first use (the rules file is validated then, naming a bad key)."""
    with _lock:
        if not _cycles:
            pipeline = runtime().pipeline
            owner = os.environ.get("WEBSITE_INSTANCE_ID") or f"{socket.gethostname()}:{os.getpid()}"
            transport = ReceiverTransport(pipeline.store, os.environ, time.time)
            stores = list(pipeline.reference.stores.members())
            rules_file = os.environ.get(ALERTS_RULES_FILE_SETTING)
            config = load_config(Path(rules_file)) if rules_file else load_config()
            push_lag = outbox_push_lag(pipeline.store)
            _cycles.append(AlertCycle(pipeline.store, config, stores, transport, owner, push_lag=push_lag))
        return _cycles[0]


def reset_alert_cycle() -> None:
    """Forget the worker's evaluator (tests; a settings change)."""
    with _lock:
        _cycles.clear()


@bp.function_name("alerts_evaluate")
@bp.timer_trigger(arg_name="timer", schedule=ALERTS_SCHEDULE, run_on_startup=False, use_monitor=True)
def alerts_evaluate(timer: func.TimerRequest) -> None:
    """One cycle: lease, evaluate, deliver."""
    report = alert_cycle().run(now())
    if not report.leader:
        logger.info("alerts: another instance holds the evaluator lease")
        return
    assert report.evaluation is not None and report.delivery is not None
    logger.info(
        "alerts: evaluated=%d transitions=%d queued=%d sent=%d failed=%d waiting=%d past_due=%s",
        report.evaluation.evaluated,
        len(report.evaluation.transitions),
        report.evaluation.queued,
        len(report.delivery.sent),
        report.delivery.failed,
        report.delivery.waiting,
        timer.past_due,
    )
    for error in report.evaluation.errors:
        logger.error("alerts: rule failed: %s", error)
