"""The Merkle tree read from chunk roots (market.audit.chunks): proofs and roots equal those of the
whole tree for every size and leaf, chunks are written once by the sealer, a log without stored
chunks still proves, and verify_audit recomputes every stored chunk."""

from __future__ import annotations

import random

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from market.audit import merkle
from market.audit.checkpoints import checkpoint_seal
from market.audit.chunks import LogTree
from market.audit.log import audit_record, audit_record_many
from market.audit.proofs import verify_proof
from market.audit.sequencer import audit_sequence
from market.audit.verify import problems
from market.models import AuditEvent, Checkpoint, MerkleChunk
from tests.audit_support import audit_proof

A = "0x" + "a1" * 20


@pytest.fixture(autouse=True)
def small_chunks(settings):
    settings.WEB3_MERKLE_CHUNK_LEVEL = 2  # chunks of 4 events, so a few dozen events span many


def record(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            audit_record(actor_id=A, action="test.note", object_type="task", object_id=f"t{i}", payload={"i": i})
    audit_sequence()  # as after their commits


def all_leaves() -> list[bytes]:
    return [merkle.event_leaf(h) for h in AuditEvent.objects.order_by("seq").values_list("hash", flat=True)]


@pytest.mark.keypath
def test_every_proof_and_root_equals_the_whole_trees_at_every_size(db):
    rnd = random.Random(11)
    # given checkpoints at uneven sizes, chunk-aligned and not (1..45 events)
    for _ in range(9):
        record(rnd.randint(1, 9))
        cp = checkpoint_seal()
        leaves = all_leaves()
        # then the checkpoint's root is the whole tree's, and the complete chunks are stored
        assert cp.root == merkle.root(leaves).hex()
        stored = sorted(MerkleChunk.objects.filter(level=2).values_list("index", flat=True))
        assert stored == list(range(len(leaves) // 4))
    # and for every checkpoint and every event it covers, the proof is the whole tree's path and verifies
    for cp in Checkpoint.objects.order_by("tree_size"):
        leaves = all_leaves()[: cp.tree_size]
        tree = LogTree(cp.tree_size)
        assert tree.root().hex() == cp.root
        for seq in range(cp.tree_size):
            assert tree.inclusion_path(seq) == merkle.inclusion_proof(seq, leaves)
    for event in AuditEvent.objects.order_by("seq"):
        verify_proof(audit_proof(event_id=event.event_id, actor_id=A))
    assert list(problems()) == []


def test_a_log_without_stored_chunks_still_proves(db, settings):
    # given a log sealed with chunks of 32 (none complete), then read with chunks of 4: no node is stored
    settings.WEB3_MERKLE_CHUNK_LEVEL = 5
    record(21)
    cp = checkpoint_seal()
    settings.WEB3_MERKLE_CHUNK_LEVEL = 2
    assert not MerkleChunk.objects.exists()

    # then its proofs are computed from the events, and hold
    for event in AuditEvent.objects.order_by("seq"):
        proof = audit_proof(event_id=event.event_id, actor_id=A)
        assert proof["root"] == cp.root
        verify_proof(proof)


def test_chunks_are_written_once_and_never_changed(db):
    record(9)
    checkpoint_seal()
    chunk = MerkleChunk.objects.get(level=2, index=0)
    # the database refuses a second root for the same chunk, and any change of one
    with pytest.raises(IntegrityError), transaction.atomic():
        MerkleChunk.objects.create(level=2, index=0, root="ab" * 32)
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        MerkleChunk.objects.filter(pk=chunk.pk).update(root="cd" * 32)


def test_verify_audit_recomputes_every_stored_chunk(db):
    # given a sealed log with its chunks, and a chunk root that the events do not give
    record(13)
    checkpoint_seal()
    assert list(problems()) == []
    MerkleChunk.objects.create(level=5, index=0, root="ef" * 32)

    # then verify_audit names it (a chunk of 32 events, while there are only 13, is reported too)
    found = list(problems())
    assert found == ["merkle chunk 0 (level 5): covers audit events that do not exist (only 13)"]
    record(19)
    assert list(problems()) == ["merkle chunk 0 (level 5): root does not match audit events"]


def test_a_wrong_stored_chunk_stops_the_seal_instead_of_being_signed(db):
    # given a sealed log, and a wrong root planted for a chunk that is not complete yet
    record(6)
    first = checkpoint_seal()
    MerkleChunk.objects.create(level=2, index=1, root="ab" * 32)  # events 4..7; only 4..5 exist

    # when more events complete that chunk and the sealer runs
    record(4)
    with pytest.raises(Exception, match="merkle chunk 1 .* does not match"):
        checkpoint_seal()

    # then nothing was signed past the last good checkpoint, and verify_audit names the chunk
    assert list(Checkpoint.objects.values_list("tree_size", flat=True)) == [first.tree_size]
    assert list(problems()) == ["merkle chunk 1 (level 2): root does not match audit events"]


def _grow(to: int) -> None:
    from market.models import AuditHead

    head = AuditHead.objects.filter(pk=1).first()
    have = head.next_seq if head else 0
    with transaction.atomic():
        audit_record_many(
            [
                {"actor_id": A, "action": "test.note", "object_type": "task", "object_id": f"t{i}", "payload": {"i": i}}
                for i in range(have, to)
            ]
        )


def test_a_proof_and_a_seal_read_a_few_stored_nodes_whatever_the_size(db):
    # given logs of 64 and of 512 events (chunks of 4), sealed, then 10 more events each
    reads = {}
    for size in (64, 512):
        _grow(size)
        checkpoint_seal()
        _grow(size + 10)
        with CaptureQueriesContext(connection) as seal:
            cp = checkpoint_seal()
        tree = LogTree(cp.tree_size)
        with CaptureQueriesContext(connection) as proof:
            path = tree.inclusion_path(size // 2 + 1)
        assert path == merkle.inclusion_proof(size // 2 + 1, all_leaves()[: cp.tree_size])
        nodes = sum(q["sql"].count('"market_merklechunk"."index" =') for q in proof.captured_queries)
        reads[size] = (len(seal.captured_queries), len(proof.captured_queries), nodes)
    # then a proof is one read of stored nodes (at most about two per level) and the events of at most
    # two chunks (its leaf's, the incomplete last one), and a seal costs about as many statements at 8x
    # the events (one more level of nodes to look at)
    assert reads[64][1] == reads[512][1] <= 3, reads
    assert reads[512][2] <= 2 * 9, reads
    assert reads[512][0] <= reads[64][0] + 3, reads
    assert list(problems()) == []
