"""Delivering alert messages: webhooks (generic JSON, Teams, Slack), the Power BI `alerts` table, a log line.

The adapter behind `shared.alerts.outbox.Transport`. Webhook URLs are secrets (a
Teams or Slack incoming-webhook URL is a bearer credential): they are read from the
setting the receiver names (a Key Vault reference in Azure) and never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Final

import orjson

from shared.alerts.messages import render_payload, title_of
from shared.alerts.outbox import DeliveryFailed
from shared.alerts.powerbi_rows import alert_rows
from shared.alerts.probes import PushLag
from shared.alerts.rules import ReceiverSpec
from shared.sinks._http import check_status, send_request, url_secrets
from shared.sinks.dataset import ALERTS_TABLE, KPI_DELTA, KPI_SNAPSHOT
from shared.sinks.outbox import Outbox
from shared.sinks.port import SinkError
from shared.stores.port import Document, DocumentStore

__all__ = ["ALERT_LOGGER", "ReceiverTransport", "outbox_push_lag"]

ALERT_LOGGER: Final = "pulse.alerts"
_TIMEOUT_S: Final = 10.0


def outbox_push_lag(store: DocumentStore) -> PushLag:
    """The Power BI push lag (age of the oldest row waiting in the outbox, any table) for the minute probes."""
    outbox = Outbox(store, [KPI_SNAPSHOT, KPI_DELTA, ALERTS_TABLE], clock=lambda: 0.0)

    def lag(now: datetime) -> float:
        return max(outbox.stats(table).lag_s(now.timestamp()) for table in outbox.tables)

    return lag


class ReceiverTransport:
    """Sends a message to a receiver of `slas.toml`; raises `DeliveryFailed` when it was not taken."""

    def __init__(
        self,
        store: DocumentStore,
        settings: Mapping[str, str],
        clock: Callable[[], float],
    ) -> None:
        """`settings` holds the webhook URLs (by the receivers' `url_setting`); `clock` gives epoch seconds."""
        self._settings = settings
        self._outbox = Outbox(store, [ALERTS_TABLE], clock=clock)
        self._log = logging.getLogger(ALERT_LOGGER)

    def send(self, receiver: ReceiverSpec, message: Document) -> None:
        if receiver.kind == "log":
            # One structured line: Application Insights keeps it in `traces`, where a log search alert
            # rule with the Azure Monitor action group turns it into email (docs/alerts.md).
            self._log.info("pulse-alert %s", orjson.dumps({"title": title_of(message), **message}).decode())
        elif receiver.kind == "powerbi":
            self._outbox.enqueue_rows(ALERTS_TABLE.name, alert_rows(dict(message)))
        else:
            self._post(receiver, message)

    def _post(self, receiver: ReceiverSpec, message: Document) -> None:
        assert receiver.url_setting is not None
        url = self._settings.get(receiver.url_setting, "")
        if not url:
            raise DeliveryFailed(f"setting {receiver.url_setting} is not set: receiver {receiver.name} has no URL")
        if not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
            raise DeliveryFailed(f"setting {receiver.url_setting} must be an https:// URL")
        secrets = (*url_secrets(url), url)
        body = orjson.dumps(render_payload(receiver.format, message))
        headers = {"Content-Type": "application/json", "Idempotency-Key": str(message["message_id"])}
        try:
            response = send_request("POST", url, body, headers, timeout_s=_TIMEOUT_S, secrets=secrets)
            check_status(response, f"webhook {receiver.name}", secrets)
        except SinkError as error:
            raise DeliveryFailed(str(error), retry_after_s=error.retry_after_s) from None
