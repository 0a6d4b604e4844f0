"""The embedded home of alerting: a daemon thread that runs the alert cycle every few wall seconds.

It reads the host's clock (simulated in `pulse demo`, so `--speed 60` evaluates a
simulated minute every second) and delivers only to the receivers that are set up
here: webhooks whose URL setting is present, Power BI when a sink is configured,
the log always. Messages for the others wait in the outbox, nothing lost.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from datetime import datetime

from shared.alerts.cycle import AlertCycle, CycleReport
from shared.alerts.queries import current_alerts
from shared.reference import ReferenceData
from shared.sinks.alert_receivers import ReceiverTransport, outbox_push_lag
from shared.sla.config import SlaConfig
from shared.stores.port import DocumentStore

__all__ = ["AlertRunner", "usable_receivers"]

logger = logging.getLogger(__name__)


def usable_receivers(config: SlaConfig, settings: Mapping[str, str], powerbi: bool) -> list[str]:
    """Receivers this host can deliver to."""
    out = []
    for receiver in config.receivers:
        webhook = receiver.kind == "webhook" and bool(settings.get(receiver.url_setting or ""))
        if webhook or receiver.kind == "log" or (receiver.kind == "powerbi" and powerbi):
            out.append(receiver.name)
    return out


class AlertRunner:
    """Runs `AlertCycle.run(clock())` every `interval_s` wall seconds until `stop`."""

    def __init__(
        self,
        store: DocumentStore,
        config: SlaConfig,
        reference: ReferenceData,
        clock: Callable[[], datetime],
        *,
        powerbi: bool = False,
        interval_s: float = 2.0,
        settings: Mapping[str, str] | None = None,
        live_from: datetime | None = None,
    ) -> None:
        settings = os.environ if settings is None else settings
        transport = ReceiverTransport(store, settings, lambda: clock().timestamp())
        receivers = usable_receivers(config, settings, powerbi)
        owner = f"embedded:{os.getpid()}"
        push_lag = outbox_push_lag(store) if powerbi else None
        stores = reference.stores.members()
        self.cycle = AlertCycle(
            store, config, stores, transport, owner, receivers=receivers, push_lag=push_lag, live_from=live_from
        )
        self._store, self._clock, self._interval_s = store, clock, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="alerts", daemon=True)
        self.last: CycleReport | None = None
        self.firing = 0

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.last = self.cycle.run(self._clock())
                self.firing = sum(1 for d in current_alerts(self._store) if d["state"] in ("firing", "recovering"))
            except Exception:  # a failed cycle is retried at the next tick; the pipeline must go on
                logger.exception("alert cycle failed")
            self._stop.wait(self._interval_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.cycle.lease.release()
