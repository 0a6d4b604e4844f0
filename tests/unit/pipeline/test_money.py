"""Integer cents and FX conversion: exact, half away from zero."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from math import gcd

from hypothesis import assume, example, given
from hypothesis import strategies as st

from shared.money import cents_to_decimal, convert_cents, rate_to_units, to_cents


@given(st.integers(min_value=0, max_value=100_000_000_000))
def test_to_cents_recovers_every_two_decimal_amount_exactly(cents: int) -> None:
    as_json_number = float(f"{cents // 100}.{cents % 100:02d}")
    assert to_cents(as_json_number) == cents


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**7))
@example(15_000, 11_527)  # 150.00 x 1.1527 = 172.905: half away gives 172.91, banker's 172.90
@example(-15_000, 11_527)
@example(5_000, 11_527)  # 57.635 -> 57.64 either way
@example(1, 5_000)  # 0.005 -> 0.01 (banker's 0.00)
def test_convert_matches_decimal_half_away_from_zero(cents: int, rate_units: int) -> None:
    exact = Decimal(cents) * Decimal(rate_units) / Decimal(10_000)
    expected = int(exact.copy_abs().quantize(Decimal(1), rounding=ROUND_HALF_UP)) * (1 if cents >= 0 else -1)
    assert convert_cents(cents, rate_units) == expected


@given(st.integers(1, 10**7), st.integers(0, 10**6), st.booleans())
@example(11_527, 0, False)
def test_every_fx_tie_is_rounded_away_from_zero(rate_units: int, multiple: int, negative: bool) -> None:
    """Sampled ties: for any rate that has them, an amount whose conversion ends in exactly half a cent."""
    g = gcd(rate_units, 10_000)
    assume(5_000 % g == 0)  # else this rate has no tie at all (e.g. a rate of 1.0016: 16 | 10,000)
    modulus = 10_000 // g
    cents = (5_000 // g) * pow(rate_units // g, -1, modulus) % modulus + multiple * modulus
    assert cents * rate_units % 10_000 == 5_000  # a tie: x.5 cents
    floor = cents * rate_units // 10_000
    sign = -1 if negative else 1
    assert convert_cents(sign * cents, rate_units) == sign * (floor + 1)


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
