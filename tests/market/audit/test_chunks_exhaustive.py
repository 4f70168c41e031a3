"""LogTree (chunk roots + events) against RFC 6962 written out plainly here: every tree size 1..160
(ten chunks of the largest level), chunk levels 0..4, with every chunk stored and with only some
stored (stored chunks beyond a tree's size must not matter); every leaf of every tree up to 64 leaves
(four chunks of the largest level), and above that the leaves where a tree's shape changes: each
side of every chunk boundary of the largest level, the first, the middle and the last two."""

from __future__ import annotations

import hashlib
from functools import cache

import pytest
from django.db import transaction

from market.audit import merkle
from market.audit.chunks import LogTree, chunks_fill
from market.audit.log import audit_record
from market.audit.sequencer import audit_sequence
from market.models import AuditEvent, MerkleChunk

A = "0x" + "a1" * 20
N = 160
EVERY_LEAF_UP_TO = 64


def rfc6962(leaves: list[bytes]):
    """MTH and PATH of RFC 6962 §2.1 over leaf hashes, memoised by range (MTH(D[lo:hi]) does not
    depend on the size of the tree it sits in)."""

    @cache
    def mth(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return leaves[lo]
        k = 1
        while k * 2 < hi - lo:
            k *= 2
        return hashlib.sha256(b"\x01" + mth(lo, lo + k) + mth(lo + k, hi)).digest()

    def path(m: int, lo: int, hi: int) -> list[bytes]:
        if hi - lo == 1:
            return []
        k = 1
        while k * 2 < hi - lo:
            k *= 2
        if m < k:
            return [*path(m, lo, lo + k), mth(lo + k, hi)]
        return [*path(m - k, lo + k, hi), mth(lo, lo + k)]

    return mth, path


def _leaves(size: int) -> list[int]:
    if size <= EVERY_LEAF_UP_TO:
        return list(range(size))
    edges = {i + d for i in range(0, size, 16) for d in (-1, 0, 1)}
    return sorted(i for i in edges | {size // 2, size - 2, size - 1} if 0 <= i < size)


@pytest.fixture
def log_n(db):
    for i in range(N):
        with transaction.atomic():
            audit_record(actor_id=A, action="test.note", object_type="task", object_id=f"t{i}", payload={"i": i})
    audit_sequence()  # as after their commits
    return [merkle.event_leaf(h) for h in AuditEvent.objects.order_by("seq").values_list("hash", flat=True)]


@pytest.mark.parametrize("stored", ["all", "some"])
@pytest.mark.parametrize("level", [0, 1, 2, 3, 4])
def test_every_size_and_leaf_equals_rfc6962(log_n, settings, level, stored):
    # given chunk roots of this level stored for the whole log, or only for its first third (the rest
    # is computed from the events)
    settings.WEB3_MERKLE_CHUNK_LEVEL = level
    if stored == "all":
        chunks_fill(N)
    elif stored == "some":
        chunks_fill(N // 3)
    mth, path = rfc6962(log_n)
    # then every prefix's root and every inclusion path is RFC 6962's
    for size in range(1, N + 1):
        tree = LogTree(size)
        assert tree.root() == mth(0, size), (level, size)
        for index in _leaves(size):
            assert tree.inclusion_path(index) == path(index, 0, size), (level, size, index)
    # and the whole-tree functions agree with it too (a sample: they are O(n) per proof)
    for size in (1, 2, 3, 5, 16, 17, 31, 64, 100, 127, 128, 129, 160):
        assert merkle.root(log_n[:size]) == mth(0, size)
        for index in {0, size // 2, size - 1}:
            assert merkle.inclusion_proof(index, log_n[:size]) == path(index, 0, size)
    expected = {"all": N >> level, "some": (N // 3) >> level}[stored]
    assert MerkleChunk.objects.filter(level=level).count() == expected
