"""The envelope every event carries, whatever its source."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field

from shared.contracts.types import ContractModel

__all__ = ["SCHEMA_VERSION", "Envelope", "SchemaVersion"]

SCHEMA_VERSION: Final = 1
"""The schema version this build understands; others are dead-lettered."""

# An int bounded to 1 rather than Literal[1]: a Literal would also accept `true` (True == 1).
SchemaVersion = Annotated[int, Field(ge=SCHEMA_VERSION, le=SCHEMA_VERSION, json_schema_extra={"const": SCHEMA_VERSION})]


class Envelope(ContractModel):
    """Common fields: identity, type discriminator, version and producer."""

    event_id: Annotated[
        str, Field(min_length=1, max_length=128, description="Unique per source; a repeat is a duplicate.")
    ]
    schema_version: Annotated[SchemaVersion, Field(description="Contract version; only 1 exists.")]
    source_system: Annotated[
        str, Field(min_length=1, max_length=64, description="The producing system, e.g. pos-eu-1.")
    ]
