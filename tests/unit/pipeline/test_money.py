"""Integer cents and FX conversion: exact, half away from zero."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from shared.money import cents_to_decimal, convert_cents, rate_to_units, to_cents


@given(st.integers(min_value=0, max_value=100_000_000_000))
def test_to_cents_recovers_every_two_decimal_amount_exactly(cents: int) -> None:
    as_json_number = float(f"{cents // 100}.{cents % 100:02d}")
    assert to_cents(as_json_number) == cents


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**7))
def test_convert_matches_decimal_half_away_from_zero(cents: int, rate_units: int) -> None:
    exact = Decimal(cents) * Decimal(rate_units) / Decimal(10_000)
    expected = int(exact.copy_abs().quantize(Decimal(1), rounding=ROUND_HALF_UP)) * (1 if cents >= 0 else -1)
    assert convert_cents(cents, rate_units) == expected


def test_rates_and_decimals() -> None:
    assert rate_to_units(Decimal("1.1234")) == 11234
    assert cents_to_decimal(1234) == Decimal("12.34")
    assert str(cents_to_decimal(-5)) == "-0.05"
    try:
        rate_to_units(Decimal("1.12345"))
    except ValueError as exc:
        assert "more than 4 decimals" in str(exc)
    else:
        raise AssertionError("a 5-decimal rate must be refused")
