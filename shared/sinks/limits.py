"""The documented limits of Power BI push and streaming datasets, as one frozen value per kind of target.

Sources: "Power BI REST APIs push semantic model limitations" (learn.microsoft.com,
power-bi/developer/embedded/push-datasets-limitations) and the real-time streaming
article for the streaming dataset (15 KB per request, 5 requests per second).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

__all__ = [
    "EVENTHUB_LIMITS",
    "LARGE_TABLE_ROWS",
    "MAX_COLUMNS",
    "MAX_STRING_CHARS",
    "MAX_TABLES",
    "POWERBI_PUSH_LIMITS",
    "POWERBI_STREAMING_LIMITS",
    "SinkLimits",
]

MAX_COLUMNS: Final = 75
MAX_TABLES: Final = 75
MAX_STRING_CHARS: Final = 4_000
LARGE_TABLE_ROWS: Final = 250_000
"""From this many rows in a table, Power BI allows only 120 POST rows requests per hour per dataset."""


@dataclass(frozen=True, slots=True)
class SinkLimits:
    """What one destination accepts; None means 'no such limit'."""

    max_rows_per_request: int = 10_000
    max_request_bytes: int | None = None
    """Whole request body, in bytes (15 KB for streaming datasets)."""
    requests_per_minute: int | None = 120
    requests_per_second: int | None = None
    requests_per_hour: int | None = None
    """Power BI's rule for tables of 250,000 rows or more: 120 per hour."""
    rows_per_hour: int | None = 1_000_000
    max_pending_requests: int = 5
    """Requests in flight at once, per limiter key (dataset)."""
    large_table_rows: int | None = None
    """Set for tables that keep every row (retention None): from this many rows pushed, `for_large_table()`."""

    def __post_init__(self) -> None:
        if self.max_rows_per_request < 1 or self.max_pending_requests < 1:
            raise ValueError("max_rows_per_request and max_pending_requests must be >= 1")
        for name in ("max_request_bytes", "requests_per_minute", "requests_per_second", "requests_per_hour"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 or None, got {value}")
        if self.rows_per_hour is not None and self.rows_per_hour < self.max_rows_per_request:
            raise ValueError("rows_per_hour must allow at least one full request")

    def for_large_table(self) -> SinkLimits:
        """The same limits for a dataset whose table holds >= 250,000 rows (120 requests per hour)."""
        hourly = 120 if self.requests_per_hour is None else min(self.requests_per_hour, 120)
        return replace(self, requests_per_hour=hourly)


POWERBI_PUSH_LIMITS: Final = SinkLimits()
"""Push dataset REST API: 10,000 rows per POST, 120 POSTs a minute, 1,000,000 rows an hour, 5 pending."""

POWERBI_STREAMING_LIMITS: Final = SinkLimits(max_request_bytes=15_000, requests_per_second=5)
"""Streaming dataset push URL: the push limits plus 15 KB per request (read as 15,000 bytes) and 5 per second."""

EVENTHUB_LIMITS: Final = SinkLimits(
    max_rows_per_request=1_000, requests_per_minute=None, rows_per_hour=None, max_pending_requests=5
)
"""Event Hubs (Fabric Eventstream): throughput units, not request quotas; one request = at most 1,000 events."""
