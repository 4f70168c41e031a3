"""The audit log's Merkle tree: RFC 6962 / RFC 9162 hashing, over the audit events in seq order.

leaf hash = sha256(0x00 || leaf data), node hash = sha256(0x01 || left || right); the tree of n
leaves splits at k, the largest power of two below n (RFC 9162 §2.1.1). The empty tree's root is
sha256(""). Leaf i is the audit event with seq i; its leaf data is the 32 raw bytes of the event's
chain hash (AuditEvent.hash, which commits to every field of the event and to the previous event).

The market's tables are the only source of truth: the events, and beside them the roots of
complete perfect subtrees of 2**level events (MerkleChunk, derived, append-only, recomputed by
verify_audit), which `subtree_root` takes instead of re-hashing their events; so a seal or a proof
reads the chunk roots and at most two chunks of events, not the whole log. (This is a small module
and not pymerkle, whose trees live in memory or in a SQLite file of their own: a second store to
keep in step.) `MerkleLog` appends leaves and gives the root of every prefix in O(log n) (the
roots of the perfect subtrees on its right edge), so every checkpoint can be re-verified in one
pass over the events.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def event_leaf(event_hash_hex: str) -> bytes:
    """The leaf hash of an audit event, from its chain hash (hex)."""
    return leaf_hash(bytes.fromhex(event_hash_hex))


def _split(n: int) -> int:
    """The largest power of two strictly below n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH of the given leaf hashes."""
    log = MerkleLog()
    for leaf in leaves:
        log.append(leaf)
    return log.root()


Subtree = Callable[[int, int], bytes]


def subtree_root(
    lo: int, hi: int, *, leaf: Callable[[int], bytes], perfect: Callable[[int, int], bytes | None] = lambda lo, hi: None
) -> bytes:
    """MTH(D[lo:hi]) of RFC 6962, for a range the tree's own splits produce. `leaf(i)` gives leaf
    hash i; `perfect(lo, hi)` may give the root of a perfect subtree (a power-of-two range aligned to
    its size) from elsewhere, or None to have it computed."""
    n = hi - lo
    if n == 1:
        return leaf(lo)
    if n & (n - 1) == 0:
        known = perfect(lo, hi)
        if known is not None:
            return known
    k = _split(n)
    return node_hash(
        subtree_root(lo, lo + k, leaf=leaf, perfect=perfect), subtree_root(lo + k, hi, leaf=leaf, perfect=perfect)
    )


def inclusion_path(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """PATH(index, D[size]) of RFC 6962 §2.1.1, the sibling hashes from the leaf up to the root,
    with `subtree(lo, hi)` giving MTH(D[lo:hi]) of each sibling."""
    if not 0 <= index < size:
        raise ValueError("index outside the tree")
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree(lo, lo + k))
            lo = lo + k
    path.reverse()
    return path


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]) over all the leaf hashes at hand."""
    return inclusion_path(index, len(leaves), lambda lo, hi: subtree_root(lo, hi, leaf=leaves.__getitem__))


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2: the root that `proof` leads to from `leaf`, or None if the proof cannot
    belong to a tree of `size` leaves (wrong length or shape)."""
    if not 0 <= index < size:
        return None
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes) -> bool:
    return root_from_inclusion(index, size, leaf, proof) == expected_root


class MerkleLog:
    """An append-only tree that keeps only the roots of its perfect right-edge subtrees."""

    def __init__(self) -> None:
        self.size = 0
        self._peaks: list[bytes] = []  # left to right, sizes strictly decreasing powers of two

    def append(self, leaf: bytes) -> None:
        self._peaks.append(leaf)
        merged = self.size
        while merged & 1:  # each trailing 1 bit of the old size is a peak of equal size to merge
            right = self._peaks.pop()
            self._peaks[-1] = node_hash(self._peaks[-1], right)
            merged >>= 1
        self.size += 1

    def root(self) -> bytes:
        if not self._peaks:
            return EMPTY_ROOT
        r = self._peaks[-1]
        for peak in reversed(self._peaks[:-1]):
            r = node_hash(peak, r)
        return r
