"""The worker's `Outputs` (Power BI / Fabric), built on first use next to the runtime, never failing ingestion.

Built from the process environment once per worker runtime (a rebuilt runtime, e.g.
after a settings change in tests, gets new outputs). The holder name identifies the
instance and the process in the drain lease document, for whoever inspects it.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid

from functions._runtime import Runtime, runtime
from shared.sinks.outputs import Outputs, business_calendar
from shared.sinks.powerbi_push import default_credential

__all__ = ["outputs"]

_lock = threading.Lock()
_current: list[tuple[Runtime, Outputs]] = []  # at most one; a list so no `global` statement is needed


def _holder() -> str:
    instance = os.environ.get("WEBSITE_INSTANCE_ID", "")[:12] or socket.gethostname()
    return f"{instance}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def outputs() -> Outputs:
    """The outputs of this worker's runtime (sink settings read now; errors logged, never raised)."""
    current = runtime()
    with _lock:
        if not _current or _current[0][0] is not current:
            built = Outputs(
                current.pipeline.store,
                dict(os.environ),
                calendar=business_calendar(current.pipeline.reference),
                holder=_holder(),
                credential_factory=default_credential,  # the app's managed identity (Entra tokens)
            )
            _current[:] = [(current, built)]
        return _current[0][1]
