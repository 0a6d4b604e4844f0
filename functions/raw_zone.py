"""The raw zone in Azure: an hourly reconciliation of the previous hour, Capture against audit, per source.

Runs at 15 past each hour (Capture closes a window after at most 15 minutes) and
writes one ``recon|SOURCE|HOUR`` document per source into the audit container,
where the SLA report and alerting read completeness. Reading the capture container
uses the app's identity (Storage Blob Data Reader on that container only, granted
in `infra/`). With ``CAPTURE_URL`` unset the check is off and says so once; it never
touches ingestion. Two instances running it at once write the same documents.
"""

# No `from __future__ import annotations` here: the worker resolves these annotations to pick converters.
import logging
from datetime import UTC, datetime, timedelta

import azure.functions as func

from functions._runtime import now, runtime
from shared.capture.reader import CaptureRange
from shared.engine.progress import AUDIT_CONTAINER
from shared.handlers.reconcile import reconcile_source, reconciliation_document
from shared.topology import CAPTURE_URL_SETTING, SOURCES

__all__ = ["CAPTURE_URL_SETTING", "RECONCILE_SCHEDULE", "bp", "reconcile_previous_hour"]

bp = func.Blueprint()  # type: ignore[no-untyped-call]
logger = logging.getLogger(__name__)

RECONCILE_SCHEDULE = "0 15 * * * *"


def reconcile_previous_hour(at: datetime) -> dict[str, str]:
    """Reconcile every source for the hour before `at`'s hour; the verdict per source."""
    settings = runtime().settings
    url = settings.capture_url
    if not url:
        logger.warning("raw-zone reconciliation is off: %s is not set", CAPTURE_URL_SETTING)
        return {}
    from shared.sources.capture_blob import open_capture_store

    capture = open_capture_store(url)
    namespace = (settings.eventhub_namespace or "").split(".", 1)[0] or None
    end = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=1)
    store = runtime().pipeline.store
    verdicts = {}
    for source in SOURCES:
        hub = settings.hub_names()[source]
        wanted = CaptureRange(hub, namespace, None, start, end)
        result = reconcile_source(store, capture, source, wanted, skip_damaged=True)
        doc = reconciliation_document(result, wanted, at)
        store.upsert(AUDIT_CONTAINER, doc)
        verdicts[source] = str(doc["verdict"])
        log = logger.warning if result.unexplained else logger.info
        log("reconcile %s %s: %s %s", source, start.isoformat(), doc["verdict"], doc["totals"])
    return verdicts


@bp.function_name("reconcile_raw_zone")
@bp.timer_trigger(arg_name="timer", schedule=RECONCILE_SCHEDULE, run_on_startup=False, use_monitor=True)
def reconcile_raw_zone(timer: func.TimerRequest) -> None:
    reconcile_previous_hour(now())
