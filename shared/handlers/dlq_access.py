"""Who read or replayed dead letters, and what an operator is shown of one.

Every list and replay, from the CLI or the HTTP API, writes an access record to the
``audit`` container (kept 90 days) and to the log: the principal, the time, the
action, the filter and how many letters it touched. A letter is shown without its
sealed body (`shared.pipeline.sealing`): ``body_masked`` has the personal fields
masked, and nothing outside replay opens ``sealed``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Literal

from shared.engine.documents import stamp
from shared.engine.progress import AUDIT_CONTAINER
from shared.stores.port import Document, DocumentStore

__all__ = ["ACCESS_PREFIX", "masked_letter", "read_access_log", "record_access"]

ACCESS_PREFIX: Final = "dlq-access"
_HIDDEN: Final = frozenset({"sealed", "raw_b64"})
logger = logging.getLogger(__name__)


def masked_letter(doc: Document) -> Document:
    """A dead letter as an operator sees it: no sealed or clear body, no store metadata."""
    return {k: v for k, v in doc.items() if not k.startswith("_") and k not in _HIDDEN}


def record_access(
    store: DocumentStore,
    who: str,
    action: Literal["list", "replay"],
    filters: Mapping[str, Any],
    letters: int,
    now: datetime,
) -> Document:
    """Write (and log) one access record; returns it."""
    at = stamp(now)
    record = {
        "id": f"{ACCESS_PREFIX}|{at}|{uuid.uuid4().hex[:12]}",
        "pk": f"{ACCESS_PREFIX}|{at[:10]}",
        "kind": ACCESS_PREFIX,
        "action": action,
        "principal": who,
        "at": at,
        "filter": {k: v for k, v in filters.items() if v is not None},
        "letters": letters,
    }
    store.upsert(AUDIT_CONTAINER, record)
    logger.info("dead letters %s by %s: %d letters, filter %s", action, who, letters, record["filter"])
    return record


def read_access_log(store: DocumentStore, day: str) -> list[Document]:
    """The access records of one UTC day (``YYYY-MM-DD``), oldest first."""
    docs = store.query(AUDIT_CONTAINER, pk=f"{ACCESS_PREFIX}|{day}")
    return sorted(({k: v for k, v in d.items() if not k.startswith("_")} for d in docs), key=lambda d: str(d["at"]))
