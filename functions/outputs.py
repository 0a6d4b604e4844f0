"""Outputs: KPI rows to Power BI (push URL, push datasets) or a Fabric Eventstream, from the outbox.

=====================  ==========================  ================================================
function               trigger                     does
=====================  ==========================  ================================================
``rollups_outbox``     change feed of ``rollups``  minute rollups -> ``kpi_delta`` rows in the outbox
``outputs_timer``      timer, every 10 s           snapshot when due; drain the outbox to the sinks
=====================  ==========================  ================================================

The change-feed trigger has its own lease prefix (``outbox-``) in ``leases`` and
starts from the beginning, so a first deploy misses no rollup; replays add no row
(each minute's delta state remembers the version already enqueued). The timer runs
on every instance that the host schedules it on; only the holder of the drain lease
(``shared.sinks.outputs``) drains. Outputs never stop ingestion: with no sink set they
are off, a bad sink setting shows in the log and in ``/api/health``.
"""

# No `from __future__ import annotations` here: the worker resolves these annotations to pick converters.
import logging

import azure.functions as func

from functions._outputs import outputs
from functions._retry import with_retry
from shared.rollups.keys import ROLLUPS_CONTAINER
from shared.topology import COSMOS_CONNECTION, COSMOS_DATABASE_SETTING, LEASES_CONTAINER

__all__ = ["OUTBOX_LEASE_PREFIX", "TIMER_SCHEDULE", "bp"]

bp = func.Blueprint()  # type: ignore[no-untyped-call]
logger = logging.getLogger(__name__)

OUTBOX_LEASE_PREFIX = "outbox-"
"""Distinct from the rollup triggers' prefixes: each trigger keeps its own place in the feed."""
TIMER_SCHEDULE = "*/10 * * * * *"
"""NCRONTAB with seconds: every 10 s. Snapshots are enqueued at most once a minute (`OutputsConfig`)."""


@bp.function_name("rollups_outbox")
@with_retry(bp)
@bp.cosmos_db_trigger(
    arg_name="docs",
    connection=COSMOS_CONNECTION,
    database_name=f"%{COSMOS_DATABASE_SETTING}%",
    container_name=ROLLUPS_CONTAINER,
    lease_container_name=LEASES_CONTAINER,
    lease_container_prefix=OUTBOX_LEASE_PREFIX,
    create_lease_container_if_not_exists=False,
    start_from_beginning=True,
    max_items_per_invocation=1000,
)
def rollups_outbox(docs: func.DocumentList) -> None:
    """Enqueue the delta rows of the changed minute rollups (nothing when no delta sink is set)."""
    if not docs:
        return
    rows = outputs().enqueue_deltas(doc.to_dict() for doc in docs)
    logger.info("outbox: %d rollup changes -> %d delta rows", len(docs), rows)


@bp.function_name("outputs_timer")
@bp.timer_trigger(arg_name="timer", schedule=TIMER_SCHEDULE, run_on_startup=False)
def outputs_timer(timer: func.TimerRequest) -> None:
    """Snapshot and drain under the drain lease; a failure is logged and the next tick retries."""
    try:
        report = outputs().tick()
    except Exception:  # the outbox keeps every row; the next tick (any instance) continues
        logger.exception("outputs: the drain failed; the next tick retries")
        return
    if report.held and report.drain is not None:
        drain = report.drain
        logger.info(
            "outputs: snapshot_rows=%d requests=%d rows_pushed=%d rejected=%d throttled=%d failures=%d",
            report.snapshot_rows, drain.requests, drain.rows_pushed, drain.rows_rejected,
            drain.throttled, drain.failures,
        )  # fmt: skip
