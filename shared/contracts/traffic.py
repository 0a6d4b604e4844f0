"""Source `traffic`: door counters and web/app sessions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from shared.contracts.envelope import Envelope
from shared.contracts.types import MAX_VISITORS, Identifier, Timestamp

__all__ = ["Footfall"]


class Footfall(Envelope):
    """People (or sessions) entering a store (or site) in a period (`event_type: footfall`)."""

    event_type: Literal["footfall"]
    store_id: Annotated[Identifier, Field(description="Store, or WEB / APP for sessions.")]
    sensor_id: Annotated[Identifier, Field(description="Door counter or web analytics stream.")]
    period_start: Annotated[Timestamp, Field(description="Event time of the count.")]
    period_seconds: Annotated[int, Field(ge=1, le=3600, description="Length of the counted period.")]
    visitors: Annotated[int, Field(ge=0, le=MAX_VISITORS, description="Entries in the period.")]
