"""Reconcile one source over a time range: Capture against audit and dead letters; the result kept as a document.

Both hosts call this: `pulse reconcile` and, in Azure, the hourly timer function
(for the previous hour of every source). The result document (``recon|SOURCE|START``
in the audit container) is where the SLA report and alerting read completeness.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.capture.port import CaptureStore
from shared.capture.reader import CaptureRange, captured_messages
from shared.capture.reconcile import Reconciliation, reconcile
from shared.engine.documents import stamp
from shared.engine.progress import AUDIT_CONTAINER
from shared.stores.port import Document, DocumentStore

__all__ = ["reconcile_source", "reconciliation_document"]


def reconcile_source(
    store: DocumentStore, capture: CaptureStore, source: str, wanted: CaptureRange, *, skip_damaged: bool = False
) -> Reconciliation:
    """Reconcile `source` for the messages `wanted` selects (CaptureDamaged propagates unless `skip_damaged`)."""
    captured = captured_messages(capture, wanted, skip_damaged=skip_damaged)
    audits = store.query(AUDIT_CONTAINER, where={"source": source})
    dead_letters = store.query("deadletters", where={"source": source})
    return reconcile(
        source, captured, audits, dead_letters, open_start=wanted.start is None, open_end=wanted.end is None
    )


def reconciliation_document(result: Reconciliation, wanted: CaptureRange, now: datetime) -> Document:
    """The result as an audit-container document (idempotent id per source and range start)."""
    start = wanted.start.isoformat() if wanted.start else "all"
    doc_id = f"recon|{result.source}|{start}"
    body: dict[str, Any] = {
        "id": doc_id,
        "pk": f"recon|{result.source}",
        "source": result.source,
        "from": wanted.start.isoformat() if wanted.start else None,
        "to": wanted.end.isoformat() if wanted.end else None,
        "verdict": "unexplained" if result.unexplained else "ok",
        "totals": result.totals(),
        "rows": [row.as_dict() for row in result.rows if row.verdict != "ok"],
        "checked_at": stamp(now),
    }
    return body
