"""The sink port: where KPI rows go (Power BI streaming URL, Power BI push dataset, Fabric Eventstream).

A `RowSink` takes rows of one table in order and either accepts all of them or raises
a `SinkError` saying how many leading rows it did accept and what to do next. The
outbox and the pusher code against this port only, so the Fabric successor of Power
BI real-time streaming is a new adapter, not a new pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeAlias, runtime_checkable

from shared.sinks.limits import SinkLimits

__all__ = [
    "Row",
    "RowSink",
    "SettingError",
    "SinkError",
    "SinkRejected",
    "SinkThrottled",
    "SinkUnavailable",
]

Row: TypeAlias = Mapping[str, Any]
"""One row: column name -> JSON value (str, int, float, bool or None)."""


class SettingError(ValueError):
    """A sink setting is missing or unusable; the message names the setting, never its value."""


class SinkError(Exception):
    """A send that did not (fully) go through. Messages never carry keys or tokens."""

    def __init__(self, message: str, *, accepted_rows: int = 0, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.accepted_rows = accepted_rows
        """Leading rows of the request that the target did accept before the failure."""
        self.retry_after_s = retry_after_s
        """What the target asked us to wait (``Retry-After``), when it said so."""


class SinkThrottled(SinkError):
    """HTTP 429: a limit of the target was hit; wait `retry_after_s` before the next request."""


class SinkUnavailable(SinkError):
    """Outage, timeout, 5xx, refused connection or an authentication failure: retry later, keep the rows."""


class SinkRejected(SinkError):
    """The target refused these rows for good (400, 413): retrying the same request cannot succeed."""


@runtime_checkable
class RowSink(Protocol):
    """One destination of rows. Implementations: streaming URL, push dataset, Event Hubs (Fabric)."""

    @property
    def target(self) -> str:
        """A printable name of the destination (no key, no token): used in logs and metrics."""
        ...

    @property
    def limit_key(self) -> str:
        """Requests sharing this key share one rate limiter (Power BI limits are per dataset)."""
        ...

    @property
    def limits(self) -> SinkLimits:
        """The limits every request to this destination must respect."""
        ...

    def envelope_bytes(self, table: str) -> int:
        """Size of a request body with no rows; each row adds its JSON size plus one separator byte."""
        ...

    def send(self, table: str, rows: Sequence[Row]) -> None:
        """Deliver `rows` of `table` in order, as one request; raise a `SinkError` unless all were accepted."""
        ...
