"""Field types shared by every contract: identifiers, money, currencies, timestamps, bounds."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, Strict

from shared.timestamps import RFC3339

__all__ = [
    "MAX_ITEMS",
    "MAX_MONEY",
    "MAX_QUANTITY",
    "MAX_SIZE_BYTES",
    "MAX_VISITORS",
    "PLAUSIBLE_YEARS",
    "ContractModel",
    "Currency",
    "Identifier",
    "Money",
    "PositiveMoney",
    "Timestamp",
]

# The contract's bounds: what a retail system can produce, with a wide margin. They
# keep every stored sum inside the exact integer range of a JSON number (2**53 - 1,
# what Cosmos DB and JavaScript hold exactly); `shared.engine.bounds` checks the sums.
MAX_MONEY: Final = 10_000_000.0
"""One amount (transaction, line price, cost record): at most ten million in its currency."""
MAX_QUANTITY: Final = 10_000
"""Units on one basket line."""
MAX_VISITORS: Final = 1_000_000
"""Entries (or sessions) counted by one sensor in one period of at most an hour."""
MAX_ITEMS: Final = 10_000
"""Items of one order."""
MAX_SIZE_BYTES: Final = 1 << 40
"""One landed raw record: at most 1 TiB."""
PLAUSIBLE_YEARS: Final = (2000, 2099)
"""Every timestamp of every contract lies in these years (inclusive), in UTC and as written."""


class ContractModel(BaseModel):
    """Base of every wire model: immutable, strict JSON types, no unknown fields."""

    # cache_strings="none": measured fastest here; values (ids, times) rarely repeat.
    model_config = ConfigDict(frozen=True, strict=True, extra="forbid", cache_strings="none")


Identifier = Annotated[str, Field(min_length=1, max_length=128)]
"""An id such as `store_id` or `order_id`: 1..128 characters."""


def _rfc3339(value: object) -> object:
    """Only RFC 3339 strings with seconds and an offset, in plausible years; then parsed by pydantic."""
    if not isinstance(value, str):
        raise ValueError("a timestamp must be an RFC 3339 string")  # checked here: parsing below is lax
    if RFC3339.fullmatch(value) is None:
        raise ValueError("not an RFC 3339 timestamp (date, time with seconds, and an offset such as Z)")
    low, high = PLAUSIBLE_YEARS
    if not low <= int(value[:4]) <= high:
        raise ValueError(f"year {value[:4]} is outside the plausible years {low}..{high}")
    return value


# Lax parsing of a string whose shape the before-validator already proved (strict mode
# would refuse the str that a before-validator hands on); any other type is refused first.
Timestamp = Annotated[AwareDatetime, Strict(False), BeforeValidator(_rfc3339)]
"""RFC 3339 with seconds and an offset (``2026-11-26T10:05:03.120Z``); other shapes are invalid."""


def _two_decimals(value: float) -> float:
    """Exactly a number with at most 2 decimals: 12.5000000001 and 1e-10 are refused.

    A float parsed from a literal with at most 2 decimals is the double nearest to
    ``cents / 100``; no other double passes (the `multiple_of` check has a tolerance).
    """
    if round(value * 100) / 100 != value:
        raise ValueError("at most 2 decimals allowed")
    return value


# Money is validated as a JSON number (strict: a quoted "12.50" is refused) with at
# most 2 decimals, then converted once, exactly, to integer cents (`shared.money`).
# Decimal validation costs ~2.6x the whole model here; floats are never summed.
Money = Annotated[
    float, Field(ge=0, le=MAX_MONEY, multiple_of=0.01, allow_inf_nan=False), AfterValidator(_two_decimals)
]
"""A non-negative amount with at most 2 decimals (the sign comes from the type)."""

PositiveMoney = Annotated[
    float, Field(gt=0, le=MAX_MONEY, multiple_of=0.01, allow_inf_nan=False), AfterValidator(_two_decimals)
]
"""A strictly positive amount with at most 2 decimals."""

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. EUR")]
