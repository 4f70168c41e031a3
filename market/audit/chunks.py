"""The audit log's Merkle tree as the database holds it: event hashes, plus stored nodes
(MerkleChunk): the roots of complete chunks of 2**WEB3_MERKLE_CHUNK_LEVEL events and, above them,
every complete node of the tree over those chunk roots (level L+1 joins two chunks, L+2 four, ...),
so that a seal or a proof reads O(log n) stored nodes instead of every chunk root.

A node (level j, index i) is MTH(D[i*2**j : (i+1)*2**j]) whatever tree it sits in, so a stored node
serves every tree size that contains its range. `LogTree(size)` answers MTH and inclusion paths for
the tree of the first `size` events: it works out which perfect subtrees of at least a chunk the
answer needs (the siblings along a path, the peaks of a root: O(log n) of them), reads those nodes
in one query and the events of at most the chunks it must open (the incomplete one at the end, and
the one holding the leaf a proof is about). A node missing from the table (a log sealed before
nodes existed, or one a seal has not written yet) is computed from its two halves, down to the
events. `chunks_fill(size)` is the sealer's: it writes the nodes of the complete ranges below
`size` that come after the last stored one of each level.
"""

from __future__ import annotations

import operator
from functools import reduce

from django.conf import settings
from django.db.models import Q

from market.audit import merkle
from market.models import AuditEvent, MerkleChunk

_DUMMY = b"\x00" * 32
_BATCH = 500


def chunk_level() -> int:
    return settings.WEB3_MERKLE_CHUNK_LEVEL


def _event_leaves(lo: int, hi: int) -> list[bytes]:
    hashes = list(AuditEvent.objects.filter(seq__gte=lo, seq__lt=hi).order_by("seq").values_list("hash", flat=True))
    if len(hashes) != hi - lo:
        raise RuntimeError(f"audit events {lo}..{hi - 1} are missing")
    return [merkle.event_leaf(h) for h in hashes]


def _chunk_root(leaves: list[bytes]) -> bytes:
    return merkle.subtree_root(0, len(leaves), leaf=leaves.__getitem__)


def _stored(keys: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored nodes among `keys` ((level, index) pairs), in one query."""
    if not keys:
        return {}
    where = reduce(operator.or_, (Q(level=j, index=i) for j, i in sorted(keys)))
    return {
        (j, i): bytes.fromhex(root)
        for j, i, root in MerkleChunk.objects.filter(where).values_list("level", "index", "root")
    }


class LogTree:
    def __init__(self, size: int, *, level: int | None = None) -> None:
        self.size = size
        self.level = chunk_level() if level is None else level
        self.width = 1 << self.level
        self.complete = size >> self.level  # chunks 0..complete-1 lie wholly inside the tree
        self._nodes: dict[tuple[int, int], bytes] = {}  # (level, index) -> root, stored or computed
        self._leaves: dict[int, list[bytes]] = {}  # chunk index -> its events' leaf hashes
        self._absent: set[tuple[int, int]] = set()  # nodes looked up and not stored

    def _chunk_leaves(self, chunk: int) -> list[bytes]:
        if chunk not in self._leaves:
            lo = chunk * self.width
            self._leaves[chunk] = _event_leaves(lo, min(lo + self.width, self.size))
        return self._leaves[chunk]

    def _leaf(self, i: int) -> bytes:
        return self._chunk_leaves(i >> self.level)[i & (self.width - 1)]

    def node(self, j: int, i: int) -> bytes:
        """The root of the complete perfect range (level j >= the chunk level, index i)."""
        key = (j, i)
        if key not in self._nodes:
            if j == self.level:
                self._nodes[key] = _chunk_root(self._chunk_leaves(i))
            else:
                self._nodes[key] = merkle.node_hash(self.node(j - 1, 2 * i), self.node(j - 1, 2 * i + 1))
        return self._nodes[key]

    def _perfect(self, lo: int, hi: int) -> bytes | None:
        n = hi - lo
        if n < self.width:
            return None  # inside one chunk: hashed from its events
        return self.node(n.bit_length() - 1, lo // n)

    def _prefetch(self, walk) -> None:
        """Run `walk` (a computation over subtree roots) once with placeholders to learn which nodes
        it needs, then read the stored ones among them in one query."""
        wanted: set[tuple[int, int]] = set()

        def record(lo: int, hi: int) -> bytes | None:
            n = hi - lo
            if n < self.width:
                return None
            wanted.add((n.bit_length() - 1, lo // n))
            return _DUMMY

        walk(lambda lo, hi: merkle.subtree_root(lo, hi, leaf=lambda i: _DUMMY, perfect=record))
        missing = wanted - self._nodes.keys() - self._absent
        if missing:
            found = _stored(missing)
            self._nodes.update(found)
            self._absent |= missing - found.keys()  # computed when needed, never asked for again

    def subtree(self, lo: int, hi: int) -> bytes:
        return merkle.subtree_root(lo, hi, leaf=self._leaf, perfect=self._perfect)

    def root(self) -> bytes:
        if not self.size:
            return merkle.EMPTY_ROOT
        self._prefetch(lambda subtree: subtree(0, self.size))
        return self.subtree(0, self.size)

    def inclusion_path(self, index: int) -> list[bytes]:
        self._prefetch(lambda subtree: merkle.inclusion_path(index, self.size, subtree))
        return merkle.inclusion_path(index, self.size, self.subtree)


class ChunkMismatch(RuntimeError):
    """A stored node differs from its events: the sealer refuses to sign (verify_audit names it)."""


def _levels(level: int, size: int) -> range:
    """The node levels a tree of `size` events can have complete ranges at (none below the chunks')."""
    return range(level, max(level, size.bit_length() - 1) + 1)


def chunks_check(*, since_size: int, size: int) -> None:
    """Before a seal signs: every stored node holding events from `since_size` on (the events no
    checkpoint has covered yet) is recomputed, a chunk from its events, a node above from its two
    halves (checked before it, level by level). Nodes wholly below `since_size` were already checked
    by the seal that covered them, and that checkpoint's root is checked too."""
    level = chunk_level()
    ranges = [Q(level=j, index__gte=since_size >> j, index__lt=size >> j) for j in _levels(level, size) if size >> j]
    if not ranges:
        return
    stored = list(
        MerkleChunk.objects.filter(reduce(operator.or_, ranges))
        .order_by("level", "index")
        .values_list("level", "index", "root")
    )
    tree = LogTree(size, level=level)
    # The halves of the nodes above the chunks: stored ones below `since_size` were checked before;
    # those from it on are checked here first (level by level, in order).
    tree._nodes.update(_stored({(j - 1, 2 * i + side) for j, i, _ in stored if j > level for side in (0, 1)}))
    for j, index, root in stored:
        if j == level:
            computed = _chunk_root(tree._chunk_leaves(index))
            tree._leaves.pop(index, None)
        else:
            computed = merkle.node_hash(tree.node(j - 1, 2 * index), tree.node(j - 1, 2 * index + 1))
        if computed.hex() != root:
            raise ChunkMismatch(f"merkle chunk {index} (level {j}) does not match its audit events")
        tree._nodes[(j, index)] = computed


def chunks_fill(size: int) -> int:
    """Write every node of a complete range below `size` past the last stored one of its level;
    returns how many. Run by the sealer under its lock (two sealers never write the same node)."""
    level = chunk_level()
    tree = LogTree(size, level=level)
    written = 0
    for j in _levels(level, size):
        top = size >> j
        last = MerkleChunk.objects.filter(level=j).order_by("-index").values_list("index", flat=True).first()
        first = 0 if last is None else last + 1
        if first >= top:
            continue
        if j > level:  # the halves: just computed, or stored (read in one query)
            halves = MerkleChunk.objects.filter(level=j - 1, index__gte=2 * first, index__lt=2 * top)
            for i, root in halves.values_list("index", "root"):
                tree._nodes.setdefault((j - 1, i), bytes.fromhex(root))
        for start in range(first, top, _BATCH):
            batch = range(start, min(start + _BATCH, top))
            MerkleChunk.objects.bulk_create([MerkleChunk(level=j, index=i, root=tree.node(j, i).hex()) for i in batch])
            tree._leaves.clear()
            written += len(batch)
    return written
