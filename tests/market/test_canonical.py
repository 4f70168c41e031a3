"""market.canonical is exactly RFC 8785 (the `rfc8785` package), fast path included, and the offline
verifier's standalone copy agrees with it."""

from __future__ import annotations

import hashlib

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from market.audit import proofs
from market.audit.hashchain import event_hash
from market.canonical import canonical

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.text(),
    st.text(alphabet=st.characters(max_codepoint=0x3F)),
    st.integers(min_value=-(2**53) - 2, max_value=2**53 + 2),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
)
keys = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(max_codepoint=0x7F)),
    st.sampled_from(["amount", "a", "B", "_", "é", "\U0001f600", "\ue000", ""]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(values)
def test_canonical_is_rfc8785(value):
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        with pytest.raises(type(exc)):
            canonical(value)
        return
    assert canonical(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": [True, None, 'x\n"\u0001\u007f\u2028é😀']},
        {"\ue000": 1, "\U0001f600": 2},  # UTF-16 order differs from code-point order here
        {"n": 2**53 - 1},
        {"n": -(2**53) + 1},
    ],
)
def test_known_cases(value):
    assert canonical(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("value", [{"n": 2**53}, {"s": "\ud800"}, {1: "x"}, {"f": float("nan")}])
def test_refusals_match(value):
    with pytest.raises(rfc8785.CanonicalizationError):
        rfc8785.dumps(value)
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical(value)


# The offline verifier (market/audit/proofs.py) carries its own copy of the fast path, so that it
# runs with the standard library alone; it must agree with market.canonical on everything an event
# body can hold: objects of ASCII keys, any text, integers up to 2**53, booleans, null, nesting.
safe_ints = st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
texts = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(max_codepoint=0x3F)),
    st.sampled_from(["", "\u2028\u2029", "\x00\x1f\x7f", '"\\/', "é😀\ue000", "\ud800"]),
)
ascii_keys = st.text(alphabet=st.characters(max_codepoint=0x7F))
plain_values = st.recursive(
    st.one_of(st.none(), st.booleans(), safe_ints, texts),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(ascii_keys, inner, max_size=4)),
    max_leaves=12,
)


def _standalone_or_refusal(value):
    try:
        return proofs._canonical(value)
    except UnicodeEncodeError:  # a lone surrogate: not UTF-8, so no canonical form
        return None


@settings(max_examples=250, deadline=None)
@given(st.dictionaries(ascii_keys, plain_values, max_size=10))
def test_the_standalone_copy_agrees_with_canonical(value):
    # given: an object of the kind an event body is
    # when
    standalone = _standalone_or_refusal(value)
    # then: the same bytes, or both refuse
    if standalone is None:
        with pytest.raises(rfc8785.CanonicalizationError):
            canonical(value)
    else:
        assert standalone == canonical(value)


@settings(max_examples=200, deadline=None)
@given(seq=st.integers(min_value=0, max_value=2**53 - 1), fields=st.lists(st.text(), min_size=7, max_size=7))
def test_every_event_hash_recomputes_offline(seq, fields):
    # given: an event's fields, whatever text they hold
    event_id, actor_id, action, object_type, object_id, payload_sha256, prev_hash = fields
    created_at = "2026-11-25T12:00:00.000000Z"
    # when: the market hashes it, and the standalone verifier hashes the same body
    digest = event_hash(
        seq=seq,
        event_id=event_id,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        payload_sha256=payload_sha256,
        prev_hash=prev_hash,
        created_at=created_at,
    )
    body = dict(
        zip(
            proofs.EVENT_FIELDS,
            (seq, event_id, actor_id, action, object_type, object_id, payload_sha256, prev_hash, created_at),
            strict=True,
        )
    )
    # then
    assert hashlib.sha256(proofs._canonical(body)).hexdigest() == digest
