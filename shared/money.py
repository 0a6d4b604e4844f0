"""Exact money: integer cents, FX conversion rounded half away from zero."""

from __future__ import annotations

from decimal import Decimal
from typing import Final

__all__ = ["RATE_SCALE", "cents_to_decimal", "convert_cents", "rate_to_units", "to_cents"]

RATE_SCALE: Final = 10_000
"""FX rates carry at most 4 decimals: a rate is held as an int of 1/10,000 units."""


def to_cents(amount: float) -> int:
    """Exact cents of a validated amount (a JSON number with at most 2 decimals).

    The contract validator guarantees ``amount * 100`` is within 1e-9 of an integer
    and ``|amount| <= 1e9``, so rounding recovers the decimal value exactly.
    """
    return round(amount * 100)


def rate_to_units(rate: Decimal) -> int:
    """A rate with at most 4 decimals as an integer of 1/10,000 units."""
    scaled = rate * RATE_SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError(f"FX rate {rate} has more than 4 decimals")
    return int(scaled)


def convert_cents(cents: int, rate_units: int) -> int:
    """`cents` times a rate (in 1/10,000 units), rounded to the cent half away from zero."""
    quotient, remainder = divmod(abs(cents) * rate_units, RATE_SCALE)
    if 2 * remainder >= RATE_SCALE:
        quotient += 1
    return quotient if cents >= 0 else -quotient


def cents_to_decimal(cents: int) -> Decimal:
    """Cents as an exact Decimal amount with two places, e.g. 1234 -> Decimal('12.34')."""
    return Decimal(cents).scaleb(-2)
