"""The audit log's Merkle tree as the database holds it: event hashes, plus the roots of complete
chunks of 2**WEB3_MERKLE_CHUNK_LEVEL events (MerkleChunk) so that a seal or a proof combines chunk
roots instead of re-hashing the whole log.

`LogTree(size)` answers MTH and inclusion paths for the tree of the first `size` events. It reads
the chunk roots below `size` in one query and the events of at most the chunks it must open: the
incomplete one at the end, and the one holding the leaf a proof is about. A chunk root missing from
the table (a log sealed before chunks existed, or a chunk a seal has not written yet) is computed
from its events. `chunks_fill(size)` is the sealer's: it writes the roots of the complete chunks
below `size` that are not stored yet.
"""

from __future__ import annotations

from django.conf import settings

from market.audit import merkle
from market.models import AuditEvent, MerkleChunk


def chunk_level() -> int:
    return settings.WEB3_MERKLE_CHUNK_LEVEL


def _event_leaves(lo: int, hi: int) -> list[bytes]:
    hashes = list(AuditEvent.objects.filter(seq__gte=lo, seq__lt=hi).order_by("seq").values_list("hash", flat=True))
    if len(hashes) != hi - lo:
        raise RuntimeError(f"audit events {lo}..{hi - 1} are missing")
    return [merkle.event_leaf(h) for h in hashes]


def _chunk_root(leaves: list[bytes]) -> bytes:
    return merkle.subtree_root(0, len(leaves), leaf=leaves.__getitem__)


class LogTree:
    def __init__(self, size: int, *, level: int | None = None) -> None:
        self.size = size
        self.level = chunk_level() if level is None else level
        self.width = 1 << self.level
        self.complete = size >> self.level  # chunks 0..complete-1 lie wholly inside the tree
        self._chunks: dict[int, bytes] = {
            index: bytes.fromhex(root)
            for index, root in MerkleChunk.objects.filter(level=self.level, index__lt=self.complete).values_list(
                "index", "root"
            )
        }
        self._leaves: dict[int, list[bytes]] = {}  # chunk index -> its events' leaf hashes

    def _chunk_leaves(self, chunk: int) -> list[bytes]:
        if chunk not in self._leaves:
            lo = chunk * self.width
            self._leaves[chunk] = _event_leaves(lo, min(lo + self.width, self.size))
        return self._leaves[chunk]

    def _leaf(self, i: int) -> bytes:
        return self._chunk_leaves(i >> self.level)[i & (self.width - 1)]

    def _perfect(self, lo: int, hi: int) -> bytes | None:
        if hi - lo != self.width:
            return None  # larger perfect ranges are split down to chunks; smaller ones are hashed
        chunk = lo >> self.level
        if chunk not in self._chunks:
            self._chunks[chunk] = _chunk_root(self._chunk_leaves(chunk))
        return self._chunks[chunk]

    def subtree(self, lo: int, hi: int) -> bytes:
        return merkle.subtree_root(lo, hi, leaf=self._leaf, perfect=self._perfect)

    def root(self) -> bytes:
        return self.subtree(0, self.size) if self.size else merkle.EMPTY_ROOT

    def inclusion_path(self, index: int) -> list[bytes]:
        return merkle.inclusion_path(index, self.size, self.subtree)


class ChunkMismatch(RuntimeError):
    """A stored chunk root differs from its events: the sealer refuses to sign (verify_audit names it)."""


def chunks_check(*, since_size: int, size: int) -> None:
    """Before a seal signs: every stored chunk holding events from `since_size` on (the events no
    checkpoint has covered yet) is recomputed from its events. Chunks wholly below `since_size` were
    already checked by the seal that covered them, and that checkpoint's root is checked too."""
    level = chunk_level()
    first, complete = since_size >> level, size >> level
    for index, root in MerkleChunk.objects.filter(level=level, index__gte=first, index__lt=complete).values_list(
        "index", "root"
    ):
        lo = index << level
        if _chunk_root(_event_leaves(lo, lo + (1 << level))).hex() != root:
            raise ChunkMismatch(f"merkle chunk {index} (level {level}) does not match its audit events")


def chunks_fill(size: int) -> int:
    """Write the root of every complete chunk below `size` not stored yet; returns how many. Run by
    the sealer under its lock (two sealers never write the same chunk)."""
    tree = LogTree(size)  # a fresh tree: its chunk roots are exactly the stored ones
    missing = [c for c in range(tree.complete) if c not in tree._chunks]
    for start in range(0, len(missing), 500):
        MerkleChunk.objects.bulk_create(
            [
                MerkleChunk(level=tree.level, index=c, root=_chunk_root(tree._chunk_leaves(c)).hex())
                for c in missing[start : start + 500]
            ]
        )
        tree._leaves.clear()
    return len(missing)
