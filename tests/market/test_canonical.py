"""market.canonical is exactly RFC 8785 (the `rfc8785` package), fast path included."""

from __future__ import annotations

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from market.canonical import canonical

scalars = st.one_of(
    st.none(), st.booleans(), st.text(), st.text(alphabet=st.characters(max_codepoint=0x3F)),
    st.integers(min_value=-(2**53) - 2, max_value=2**53 + 2), st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
)
keys = st.one_of(st.text(), st.text(alphabet=st.characters(max_codepoint=0x7F)),
                 st.sampled_from(["amount", "a", "B", "_", "é", "\U0001f600", "\ue000", ""]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(keys, inner, max_size=4)), max_leaves=12)


@settings(max_examples=500, deadline=None)
@given(values)
def test_canonical_is_rfc8785(value):
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        with pytest.raises(type(exc)):
            canonical(value)
        return
    assert canonical(value) == expected


@pytest.mark.parametrize("value", [
    {"b": 1, "a": [True, None, "x\n\"\u0001\u007f\u2028é😀"]},
    {"\ue000": 1, "\U0001f600": 2},  # UTF-16 order differs from code-point order here
    {"n": 2**53 - 1}, {"n": -(2**53) + 1},
])
def test_known_cases(value):
    assert canonical(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("value", [{"n": 2**53}, {"s": "\ud800"}, {1: "x"}, {"f": float("nan")}])
def test_refusals_match(value):
    with pytest.raises(rfc8785.CanonicalizationError):
        rfc8785.dumps(value)
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical(value)

