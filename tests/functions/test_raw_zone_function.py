"""The hourly reconciliation as the host runs it: the indexed timer function, Capture blobs in Azurite, the
ingest function applying the same messages, and the result documents in the audit container."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from azure.functions.timer import TimerRequest

import functions.raw_zone as raw_zone
from shared.capture.avro_format import write_records
from shared.capture.layout import blob_name
from shared.engine.progress import AUDIT_CONTAINER
from shared.pipeline.raw import RawEvent
from shared.sources.capture_blob import open_capture_store
from tests.fixtures.emulators import AzuriteEndpoints, azurite
from tests.functions.app_env import AppEnv
from tests.functions.indexed import FUNCTIONS
from tests.functions.test_handlers import NOW, sale
from tests.functions.trigger_inputs import event_batch

__all__ = ["azurite"]

pytestmark = pytest.mark.emulator

ENQUEUED = NOW  # events are judged at their enqueued time: never before their event time
AT = NOW.replace(minute=15, second=0, microsecond=0) + timedelta(hours=1)  # the next hour's run, at 15 past
NAMESPACE = "evhns-pulse"  # from EVENTHUB__fullyQualifiedNamespace in the test settings


def capture_blob(partition: str, bodies: list[bytes]) -> tuple[str, bytes]:
    raws = [RawEvent(b, partition, i, str(4096 * i), ENQUEUED) for i, b in enumerate(bodies)]
    out = io.BytesIO()
    write_records(out, [], raws)
    return blob_name(NAMESPACE, "pulse-txn", partition, ENQUEUED), out.getvalue()


def test_the_timer_is_registered_hourly() -> None:
    bindings = FUNCTIONS["reconcile_raw_zone"].get_bindings()
    (trigger,) = [b for b in bindings if b.type == "timerTrigger"]
    assert trigger.schedule == raw_zone.RECONCILE_SCHEDULE == "0 15 * * * *"


def test_hourly_reconciliation_writes_its_verdicts_where_slas_read_them(
    app_env: AppEnv, azurite: AzuriteEndpoints, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    url = f"http://127.0.0.1:{azurite.blob_port}/devstoreaccount1/recon-{request.node.callspec.id[:6]}-{id(app_env)}"
    capture = open_capture_store(url, create=True)
    bodies = [sale(n) for n in range(1, 21)]
    capture.write(*capture_blob("0", bodies))
    app_env.call("ingest_txn", event_batch(bodies, partition="0", first_seq=0, enqueued=ENQUEUED))
    monkeypatch.setattr(raw_zone, "now", lambda: AT)

    app_env.set(CAPTURE_URL=None)
    app_env.call("reconcile_raw_zone", TimerRequest())  # off: says so, writes nothing, raises nothing
    assert app_env.store.query(AUDIT_CONTAINER, pk="recon|txn") == []

    app_env.set(CAPTURE_URL=url)
    app_env.call("reconcile_raw_zone", TimerRequest())
    hour = (AT.replace(minute=0) - timedelta(hours=1)).astimezone(UTC)
    doc = app_env.store.read(AUDIT_CONTAINER, "recon|txn", f"recon|txn|{hour.isoformat()}")
    assert doc is not None and doc["verdict"] == "ok"
    assert doc["totals"] == {"captured": 20, "processed": 20, "missing": 0, "extra": 0, "dead_lettered": 0}
    traffic = app_env.store.read(AUDIT_CONTAINER, "recon|traffic", f"recon|traffic|{hour.isoformat()}")
    assert traffic is not None and traffic["totals"]["captured"] == 0

    capture.write(*capture_blob("1", [sale(n) for n in range(30, 35)]))  # a partition nobody processed
    app_env.call("reconcile_raw_zone", TimerRequest())  # twice in the same hour: the same document, updated
    doc = app_env.store.read(AUDIT_CONTAINER, "recon|txn", f"recon|txn|{hour.isoformat()}")
    assert doc is not None and doc["verdict"] == "unexplained"
    assert [(r["partition"], r["verdict"], r["missing"]) for r in doc["rows"]] == [("1", "missing in audit", 5)]
    assert datetime.fromisoformat(doc["from"]) == hour
