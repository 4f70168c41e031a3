"""Concurrent sealers (PostgreSQL): every event is sealed by exactly one checkpoint."""

import random
import threading

import pytest
from django.db import transaction

from market.audit.checkpoints import checkpoint_seal
from market.audit.log import audit_record
from market.audit.verify import problems
from market.models import Checkpoint
from tests.conftest import in_thread

A = "0x" + "a1" * 20


def write_events(n: int, start: threading.Barrier | None = None) -> int:
    if start:
        start.wait(10)
    for i in range(n):
        with transaction.atomic():
            audit_record(actor_id=A, action="test.note", object_type="task", object_id=f"t{i}", payload={"i": i})
    return n


def seal_repeatedly(times: int, start: threading.Barrier) -> list[int]:
    start.wait(10)
    sizes = []
    for _ in range(times):
        cp = checkpoint_seal()
        if cp is not None:
            sizes.append(cp.tree_size)
    return sizes


@pytest.mark.concurrency
@pytest.mark.postgres
@pytest.mark.parametrize("first_checkpoint_exists", [False, True])
def test_concurrent_sealers_seal_every_event_exactly_once(transactional_db, first_checkpoint_exists):
    # given: some events (and maybe a checkpoint), then writers and three sealers all at once
    write_events(5)
    if first_checkpoint_exists:
        checkpoint_seal()
    start = threading.Barrier(5)
    runs = [in_thread(write_events, 15, start), in_thread(write_events, 15, start)]
    runs += [in_thread(seal_repeatedly, 8, start) for _ in range(3)]
    # when
    for thread, _ in runs:
        thread.join(60)
    for _, out in runs:
        assert "error" not in out, out.get("error")
    checkpoint_seal()
    # then: no tree size was written twice, every successful seal is one row, in time order
    returned = [size for _, out in runs[2:] for size in out["value"]]
    assert len(returned) == len(set(returned))
    rows = list(Checkpoint.objects.order_by("tree_size"))
    assert set(returned) <= {cp.tree_size for cp in rows}
    assert rows[-1].tree_size == 35
    assert [cp.created_at for cp in rows] == sorted(cp.created_at for cp in rows)
    assert list(problems()) == []


def prove_repeatedly(times: int, start: threading.Barrier) -> int:
    from market.audit.proofs import verify_proof
    from market.models import AuditEvent
    from tests.audit_support import audit_proof

    start.wait(10)
    rnd, proved = random.Random(3), 0
    for _ in range(times):
        sizes = list(Checkpoint.objects.values_list("tree_size", flat=True))
        size = rnd.choice(sizes)
        event = AuditEvent.objects.get(seq=rnd.randrange(size))
        verify_proof(audit_proof(event_id=event.event_id, actor_id=A, is_staff=True, tree_size=size))
        verify_proof(audit_proof(event_id=event.event_id, actor_id=A, is_staff=True))
        proved += 1
    return proved


@pytest.mark.concurrency
@pytest.mark.postgres
@pytest.mark.parametrize("level", [0, 1, 2])
def test_proofs_hold_while_sealers_write_merkle_chunks(transactional_db, settings, level):
    from market.models import MerkleChunk

    # given: small Merkle chunks, so that every seal writes some; writers, two sealers and two provers at once
    settings.WEB3_MERKLE_CHUNK_LEVEL = level
    write_events(5)
    checkpoint_seal()
    start = threading.Barrier(6)
    runs = [in_thread(write_events, 30, start), in_thread(write_events, 30, start)]
    runs += [in_thread(seal_repeatedly, 15, start) for _ in range(2)]
    runs += [in_thread(prove_repeatedly, 40, start) for _ in range(2)]
    # when
    for thread, _ in runs:
        thread.join(120)
    # then: every proof, against any checkpoint, verified while chunks were being written
    for _, out in runs:
        assert "error" not in out, out.get("error")
    assert all(out["value"] == 40 for _, out in runs[4:])
    # and each complete chunk was written once, and verify_audit finds them all right
    checkpoint_seal()
    assert MerkleChunk.objects.filter(level=level).count() == 65 >> level
    assert list(problems()) == []
