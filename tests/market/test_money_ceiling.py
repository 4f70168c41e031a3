"""market.money.ceiling_minor: a price ceiling read in a currency's scale is the largest amount of
that scale at or below the decimal, compared exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.errors import InvalidArgument
from market.money import MAX_MINOR, ceiling_minor


@given(
    text=st.from_regex(r"0*[0-9]{1,20}(\.[0-9]{1,20})?", fullmatch=True).filter(lambda t: len(t) <= 40),
    scale=st.sampled_from([0, 2, 6, 18]),
)
def test_the_ceiling_is_the_largest_amount_of_the_scale_at_or_below_the_decimal(text, scale):
    # when a decimal is read as a ceiling in a scale
    minor = ceiling_minor(text, scale)
    # then that amount is at or below it and one minor unit more is above it (or it is past every amount)
    exact = Decimal(text)
    if minor == MAX_MINOR:
        assert exact * 10**scale >= MAX_MINOR
    else:
        assert Decimal(minor) / 10**scale <= exact < Decimal(minor + 1) / 10**scale


@pytest.mark.parametrize(
    ("text", "scale", "minor"),
    [("0.015", 2, 1), ("0.015", 6, 15000), ("0.015", 0, 0), ("12", 2, 1200), ("0", 6, 0), ("9" * 30, 6, MAX_MINOR)],
)
def test_examples(text, scale, minor):
    assert ceiling_minor(text, scale) == minor


@pytest.mark.parametrize("text", [1, "", "-1", "+1", "1e3", "١٢", "1.", ".5", " 1", "1" * 41])
def test_what_is_not_a_wire_amount_is_refused(text):
    with pytest.raises(InvalidArgument):
        ceiling_minor(text, 6)
