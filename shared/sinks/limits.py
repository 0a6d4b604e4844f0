"""The documented limits of Power BI push and streaming datasets, as one frozen value per kind of target.

Sources (learn.microsoft.com, checked 2026-12):

- "Push semantic model limitations" (power-bi/developer/embedded/push-datasets-limitations):
  75 columns, 75 tables, 10,000 rows per POST rows request, 1,000,000 rows added per
  hour per semantic model, 5 pending POST rows requests, 120 POST rows requests per
  minute, "if table has 250,000 or more rows, 120 POST rows requests per hour",
  200,000 rows per table with basicFIFO, 5,000,000 rows per table with retention None,
  4,000 characters per string value.
- "Real-time streaming in Power BI" (power-bi/connect-data/service-real-time-streaming):
  its dataset matrix gives the maximum rate of data ingestion, push: 1 request/s and
  16 MB/request; streaming: 5 requests/s and 15 KB/request (no rows-per-hour cap: the
  streaming cache keeps an hour of data). And: with ``pushStreaming``, "if a request
  exceeds the 15Kb size restriction for a streaming dataset, but is less than the 16MB
  size restriction of a push dataset, the request will succeed ... However, any
  streaming tiles will temporarily fail" — which is why no dataset here is hybrid.

Sizes are read conservatively in decimal units (15 KB = 15,000 bytes, 16 MB = 16,000,000).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

__all__ = [
    "EVENTHUB_LIMITS",
    "FIFO_TABLE_ROWS",
    "LARGE_TABLE_REQUESTS_PER_HOUR",
    "LARGE_TABLE_ROWS",
    "MAX_COLUMNS",
    "MAX_STRING_CHARS",
    "MAX_TABLES",
    "NONE_RETENTION_TABLE_ROWS",
    "POWERBI_PUSH_LIMITS",
    "POWERBI_STREAMING_LIMITS",
    "PUSH_MAX_REQUEST_BYTES",
    "STREAMING_MAX_REQUEST_BYTES",
    "SinkLimits",
]

MAX_COLUMNS: Final = 75
MAX_TABLES: Final = 75
MAX_STRING_CHARS: Final = 4_000
LARGE_TABLE_ROWS: Final = 250_000
"""From this many rows in a table, Power BI allows only 120 POST rows requests per hour per dataset."""
LARGE_TABLE_REQUESTS_PER_HOUR: Final = 120
FIFO_TABLE_ROWS: Final = 200_000
"""basicFIFO retention keeps the newest 200,000 rows of a table (older ones are dropped first-in first-out)."""
NONE_RETENTION_TABLE_ROWS: Final = 5_000_000
"""Retention None keeps at most 5,000,000 rows per table; what Power BI answers beyond is not documented."""
PUSH_MAX_REQUEST_BYTES: Final = 16_000_000
"""Push dataset: 16 MB per request (the real-time streaming article's dataset matrix)."""
STREAMING_MAX_REQUEST_BYTES: Final = 15_000
"""Streaming dataset: 15 KB per request; also the size above which a hybrid dataset's streaming tiles fail."""


@dataclass(frozen=True, slots=True)
class SinkLimits:
    """What one destination accepts; None means 'no such limit'."""

    max_rows_per_request: int = 10_000
    max_request_bytes: int | None = PUSH_MAX_REQUEST_BYTES
    """Whole request body, in bytes (16 MB push, 15 KB streaming)."""
    requests_per_minute: int | None = 120
    requests_per_second: int | None = 1
    """Push: 1 request per second per dataset; streaming: 5."""
    requests_per_hour: int | None = None
    """Power BI's rule for tables of 250,000 rows or more: 120 per hour, which the limiter spaces evenly."""
    rows_per_hour: int | None = 1_000_000
    max_pending_requests: int = 5
    """Requests in flight at once, per limiter key (dataset)."""
    large_table_rows: int | None = None
    """Set for tables that keep every row (retention None): from this many rows in the table, `for_large_table()`."""
    max_table_rows: int | None = None
    """Rows the target table may hold (5,000,000 with retention None): no request may take it past this."""

    def __post_init__(self) -> None:
        if self.max_rows_per_request < 1 or self.max_pending_requests < 1:
            raise ValueError("max_rows_per_request and max_pending_requests must be >= 1")
        for name in ("max_request_bytes", "requests_per_minute", "requests_per_second", "requests_per_hour"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 or None, got {value}")
        if self.rows_per_hour is not None and self.rows_per_hour < self.max_rows_per_request:
            raise ValueError("rows_per_hour must allow at least one full request")

    @property
    def min_spacing_s(self) -> float | None:
        """With an hourly request limit, requests go at least ``3600 / limit`` seconds apart (30 s for 120).

        Evenly spaced requests never exceed the hourly limit in any rolling hour and never
        burst 120 requests and then block for the rest of the hour.
        """
        return None if self.requests_per_hour is None else 3600.0 / self.requests_per_hour

    def for_large_table(self) -> SinkLimits:
        """The same limits for a dataset whose table holds >= 250,000 rows (120 requests per hour, spaced)."""
        cap = LARGE_TABLE_REQUESTS_PER_HOUR
        hourly = cap if self.requests_per_hour is None else min(self.requests_per_hour, cap)
        return replace(self, requests_per_hour=hourly)


POWERBI_PUSH_LIMITS: Final = SinkLimits()
"""Push dataset REST API: 10,000 rows and 16 MB per POST, 1 POST a second, 120 a minute, 1,000,000 rows an hour."""

POWERBI_STREAMING_LIMITS: Final = SinkLimits(
    max_request_bytes=STREAMING_MAX_REQUEST_BYTES, requests_per_second=5, requests_per_minute=None, rows_per_hour=None
)
"""Streaming dataset: 15 KB per request and 5 requests a second; no per-minute or rows-per-hour quota."""

EVENTHUB_LIMITS: Final = SinkLimits(
    max_rows_per_request=1_000,
    max_request_bytes=None,
    requests_per_second=None,
    requests_per_minute=None,
    rows_per_hour=None,
    max_pending_requests=5,
)
"""Event Hubs (Fabric Eventstream): throughput units, not request quotas; one request = at most 1,000 events."""
