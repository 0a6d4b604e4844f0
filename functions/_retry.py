"""The retry policy of the Event Hubs and Cosmos DB triggers (function-level, run by the Functions host).

Exponential backoff from 5 s to 5 min, retried indefinitely (``-1``), as Microsoft's
own Event Hubs replication tasks do. Why not a finite count: when a finite count is
exhausted the host checkpoints *past* the batch anyway (Event Hubs) or moves the
lease on (Cosmos DB change feed), so the batch would be skipped for good. Only
transient store faults and a missing-metadata misconfiguration ever raise (bad
input becomes dead letters), so "retry until it works" stalls one partition during
an outage (visible in lag alerts and `/api/health`) instead of losing events.
Retries, host restarts and redeliveries are safe: the ingest handler skips every
message at or below its partition's progress document, the rollups are idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import azure.functions as func

__all__ = ["RETRY_POLICY", "with_retry"]

RETRY_POLICY: Final[dict[str, str]] = {
    "strategy": "exponential_backoff",
    "max_retry_count": "-1",
    "minimum_interval": "00:00:05",
    "maximum_interval": "00:05:00",
}
"""Keyword arguments of ``Blueprint.retry``."""


def with_retry(bp: func.Blueprint) -> Callable[[Any], Any]:
    """``bp.retry(...)`` with `RETRY_POLICY`."""
    return bp.retry(
        strategy=RETRY_POLICY["strategy"],
        max_retry_count=RETRY_POLICY["max_retry_count"],
        minimum_interval=RETRY_POLICY["minimum_interval"],
        maximum_interval=RETRY_POLICY["maximum_interval"],
    )
