"""RFC 6962 Merkle tree: roots, inclusion proofs and the standalone verifier's path check."""

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from market.audit import merkle
from market.audit.proofs import _root_from_path


def leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def reference_root(items: list[bytes]) -> bytes:
    """MTH straight from RFC 6962 §2.1, recursively."""
    if not items:
        return hashlib.sha256(b"").digest()
    if len(items) == 1:
        return items[0]
    k = 1
    while k * 2 < len(items):
        k *= 2
    return merkle.node_hash(reference_root(items[:k]), reference_root(items[k:]))


def test_hashes_are_domain_separated():
    # given / when
    leaf = merkle.leaf_hash(b"abc")
    node = merkle.node_hash(b"a" * 32, b"b" * 32)
    # then
    assert leaf == hashlib.sha256(b"\x00abc").digest()
    assert node == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert merkle.root([]) == hashlib.sha256(b"").digest()


def test_known_tree_of_three_leaves():
    # given: leaves a, b, c -> root = node(node(a, b), c)
    a, b, c = leaves(3)
    # when / then
    assert merkle.root([a, b, c]) == merkle.node_hash(merkle.node_hash(a, b), c)
    assert merkle.inclusion_proof(2, [a, b, c]) == [merkle.node_hash(a, b)]
    assert merkle.inclusion_proof(0, [a, b, c]) == [b, c]


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=300))
def test_incremental_root_equals_the_rfc_definition(n):
    items = leaves(n)
    assert merkle.root(items) == reference_root(items)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=200).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_proofs_verify_for_random_index_and_size(case):
    # given
    n, index = case
    items = leaves(n)
    root = merkle.root(items)
    # when
    proof = merkle.inclusion_proof(index, items)
    # then: both verifiers accept it
    assert merkle.verify_inclusion(index, n, items[index], proof, root)
    assert _root_from_path(index, n, items[index], proof) == root


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=2, max_value=120).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(0, n - 1), st.integers(0, 10_000), st.integers(0, 255))
    )
)
def test_tampering_fails(case):
    # given
    n, index, pick, flip = case
    items = leaves(n)
    root = merkle.root(items)
    proof = merkle.inclusion_proof(index, items)
    # then: another leaf, a changed sibling, a cut or padded path, or another index all fail
    other = items[(index + 1) % n]
    assert not merkle.verify_inclusion(index, n, other, proof, root)
    if proof:
        i = pick % len(proof)
        bad = bytearray(proof[i])
        bad[pick % 32] ^= flip or 1
        assert not merkle.verify_inclusion(index, n, items[index], [*proof[:i], bytes(bad), *proof[i + 1 :]], root)
        assert not merkle.verify_inclusion(index, n, items[index], proof[:-1], root)
    assert not merkle.verify_inclusion((index + 1) % n, n, items[index], proof, root) or n == 1
    assert not merkle.verify_inclusion(index, n, items[index], [*proof, b"\x00" * 32], root)


def test_out_of_range_index_is_refused():
    items = leaves(4)
    assert not merkle.verify_inclusion(4, 4, items[0], [], merkle.root(items))
    assert merkle.root_from_inclusion(0, 0, items[0], []) is None
