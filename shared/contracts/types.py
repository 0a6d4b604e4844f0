"""Field types shared by every contract: identifiers, money, currencies, timestamps."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "MAX_MONEY",
    "ContractModel",
    "Currency",
    "Identifier",
    "Money",
    "PositiveMoney",
    "Timestamp",
]


MAX_MONEY: Final = 1_000_000_000.0
"""Sanity bound on one amount; keeps the float-to-cents conversion exact."""


class ContractModel(BaseModel):
    """Base of every wire model: immutable, strict JSON types, no unknown fields."""

    # cache_strings="none": measured fastest here; values (ids, times) rarely repeat.
    model_config = ConfigDict(frozen=True, strict=True, extra="forbid", cache_strings="none")


Identifier = Annotated[str, Field(min_length=1, max_length=128)]
"""An id such as `store_id` or `order_id`: 1..128 characters."""

Timestamp = AwareDatetime
"""RFC 3339 with an offset; a timestamp without offset is invalid."""

# Money is validated as a JSON number (strict: a quoted "12.50" is refused) with at
# most 2 decimals, then converted once, exactly, to integer cents (`shared.money`).
# Decimal validation costs ~2.6x the whole model here; floats are never summed.
Money = Annotated[float, Field(ge=0, le=MAX_MONEY, multiple_of=0.01, allow_inf_nan=False)]
"""A non-negative amount with at most 2 decimals (the sign comes from the type)."""

PositiveMoney = Annotated[float, Field(gt=0, le=MAX_MONEY, multiple_of=0.01, allow_inf_nan=False)]
"""A strictly positive amount with at most 2 decimals."""

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. EUR")]
