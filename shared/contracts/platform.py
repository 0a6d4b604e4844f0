"""Platform sources: `ingest` (landing), `ops` (logs), `gov` (data quality), `cost`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Final, Literal

from pydantic import Field, model_validator

from shared.contracts.envelope import Envelope
from shared.contracts.types import MAX_SIZE_BYTES, Currency, Identifier, Money, Timestamp

__all__ = ["MAX_USAGE_PERIOD", "CostUsage", "DataQualityCheck", "LogRecord", "RawEventLanding"]

MAX_USAGE_PERIOD: Final = timedelta(days=31)
"""A cost record covers at most a month."""


class RawEventLanding(Envelope):
    """A raw record landed in the ingest zone (`event_type: raw_event`, seed Source A)."""

    event_type: Literal["raw_event"]
    record_key: Identifier
    source_system_id: Identifier
    payload_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="Hex SHA-256 of the payload.")]
    size_bytes: Annotated[int, Field(ge=0, le=MAX_SIZE_BYTES, description="At most 1 TiB.")]
    event_ts: Annotated[Timestamp, Field(description="Event time.")]


class LogRecord(Envelope):
    """A service log line (`event_type: log`, seed Source B)."""

    event_type: Literal["log"]
    log_id: Identifier
    service_id: Identifier
    instance_id: Identifier
    log_level: Literal["DEBUG", "INFO", "WARN", "ERROR", "CRITICAL"]
    message_ts: Annotated[Timestamp, Field(description="Event time.")]
    error_code: Annotated[str | None, Field(max_length=128)]
    message: Annotated[str, Field(max_length=8192, description="At most 8 KiB.")]


class DataQualityCheck(Envelope):
    """The result of one data-quality check (`event_type: dq_check`, seed Source C)."""

    event_type: Literal["dq_check"]
    dq_id: Identifier
    dataset_id: Identifier
    check_name: Identifier
    check_status: Literal["pass", "warn", "fail"]
    checked_ts: Annotated[Timestamp, Field(description="Event time.")]
    observed_value: Annotated[float | None, Field(allow_inf_nan=False)]
    threshold: Annotated[float | None, Field(allow_inf_nan=False)]


class CostUsage(Envelope):
    """Cloud usage and its cost over a period (`event_type: cost_usage`, seed Source D)."""

    event_type: Literal["cost_usage"]
    usage_id: Identifier
    resource_id: Identifier
    resource_type: Identifier
    cost_center_id: Identifier
    cost_amount: Annotated[Money, Field(description="Cost in `currency`, >= 0.")]
    currency: Currency
    start_ts: Annotated[Timestamp, Field(description="Event time: start of the usage period.")]
    end_ts: Annotated[Timestamp, Field(description="End of the usage period; after start_ts.")]

    @model_validator(mode="after")
    def _end_after_start(self) -> CostUsage:
        if self.end_ts <= self.start_ts:
            raise ValueError("end_ts must be after start_ts")
        if self.end_ts - self.start_ts > MAX_USAGE_PERIOD:
            raise ValueError(f"end_ts must be at most {MAX_USAGE_PERIOD.days} days after start_ts")
        return self
