"""Sealing audit events into signed checkpoints, inclusion proofs, offline verification and
verify_audit's checkpoint checks."""

import copy
import random
from datetime import UTC, datetime

import pytest
import rfc8785
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from eth_account import Account
from eth_account.messages import encode_defunct

from market.audit import merkle
from market.audit.checkpoints import checkpoint_seal, checkpoint_signer, seal_sweep
from market.audit.log import audit_record
from market.audit.proofs import EVENT_FIELDS, ProofError, _canonical, verify_proof
from market.audit.sequencer import audit_sequence
from market.audit.verify import problems
from market.models import AuditEvent, Checkpoint
from tests.audit_support import audit_proof

A = "0x" + "a1" * 20
B = "0x" + "b2" * 20
KEY = "0x" + "4c" * 32  # tests/settings.py's WEB3_CHECKPOINT_KEY
T0 = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def record(n: int, *, actor: str = A, payload: dict | None = None) -> list[AuditEvent]:
    out = []
    for i in range(n):
        with transaction.atomic():
            out.append(
                audit_record(
                    actor_id=actor,
                    action="test.note",
                    object_type="task",
                    object_id=f"task_{i}",
                    payload=payload or {"n": i},
                    parties=[B],
                )
            )
    audit_sequence()  # as after their commits
    for event in out:
        event.refresh_from_db()
    return out


def drop_update_trigger(table: str) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        else:
            cursor.execute(f"DROP TRIGGER {table}_no_update")


@pytest.mark.keypath
def test_seal_signs_a_checkpoint_over_every_new_event(db):
    # given
    assert checkpoint_seal() is None
    events = record(5)
    # when
    with time_machine.travel(T0, tick=False):
        cp = checkpoint_seal()
    # then
    assert cp.tree_size == 5
    assert cp.root == merkle.root([merkle.leaf_hash(bytes.fromhex(e.hash)) for e in events]).hex()
    assert cp.statement == f"openclaw-checkpoint/v1\n5\n{cp.root}\n2026-11-25T12:00:00.000000Z"
    signer = Account.from_key(KEY).address.lower()
    assert cp.signer == signer == checkpoint_signer()
    assert Account.recover_message(encode_defunct(text=cp.statement), signature=cp.signature).lower() == signer
    assert checkpoint_seal() is None
    assert seal_sweep() == {"sealed": 0, "treeSize": 5}
    record(2)
    assert seal_sweep() == {"sealed": 1, "treeSize": 7}
    assert list(Checkpoint.objects.values_list("tree_size", flat=True).order_by("tree_size")) == [5, 7]
    assert list(problems()) == []


def test_checkpoints_are_append_only(db):
    # given
    record(1)
    cp = checkpoint_seal()
    # when / then: the database refuses UPDATE and DELETE
    with pytest.raises(IntegrityError), transaction.atomic():
        Checkpoint.objects.filter(pk=cp.pk).update(root="0" * 64)
    with pytest.raises(IntegrityError), transaction.atomic():
        Checkpoint.objects.filter(pk=cp.pk).delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        Checkpoint.objects.create(tree_size=1, root="1" * 64, created_at=T0, signature="0x", signer=A)
    with pytest.raises(IntegrityError), transaction.atomic():
        Checkpoint.objects.create(tree_size=0, root="1" * 64, created_at=T0, signature="0x", signer=A)


@pytest.mark.keypath
def test_proofs_verify_for_random_events_across_many_checkpoints(db):
    # given: 60 events sealed by checkpoints of uneven sizes
    rng = random.Random(6962)
    events = []
    for batch in (1, 2, 3, 5, 8, 13, 1, 27):
        events += record(batch)
        checkpoint_seal()
    assert Checkpoint.objects.count() == 8
    # when / then: every sampled event's proof verifies in its sealing checkpoint and in the latest
    for event in rng.sample(events, 25):
        proof = audit_proof(event_id=event.event_id, actor_id=A)
        sealing = Checkpoint.objects.filter(tree_size__gt=event.seq).order_by("tree_size").first()
        assert proof["treeSize"] == sealing.tree_size
        verify_proof(proof, trusted_signer=checkpoint_signer())
        latest = audit_proof(event_id=event.event_id, actor_id=B, tree_size=60)
        verify_proof(latest)
        assert latest["checkpoint"]["treeSize"] == 60


def test_unsealed_event_has_no_proof_and_strangers_see_nothing(db):
    from market.errors import Conflict, NotFound

    # given
    sealed = record(1)[0]
    checkpoint_seal()
    fresh = record(1)[0]
    # when / then
    with pytest.raises(Conflict):
        audit_proof(event_id=fresh.event_id, actor_id=A)
    with pytest.raises(NotFound):
        audit_proof(event_id=sealed.event_id, actor_id="0x" + "c3" * 20)
    assert audit_proof(event_id=sealed.event_id, actor_id="0x" + "c3" * 20, is_staff=True)["treeSize"] == 1


def test_offline_verifier_rejects_a_modified_event_a_wrong_root_and_a_bad_signature(db):
    # given
    record(6)
    checkpoint_seal()
    event = AuditEvent.objects.get(seq=3)
    proof = audit_proof(event_id=event.event_id, actor_id=A)
    verify_proof(proof)

    def broken(change) -> str:
        p = copy.deepcopy(proof)
        change(p)
        with pytest.raises(ProofError) as info:
            verify_proof(p)
        return str(info.value)

    # then
    assert broken(lambda p: p["event"].update(payload='{"n":4}')) == "event payload does not match payloadSha256"
    assert broken(lambda p: p["event"].update(action="test.other")) == "event fields do not match event.hash"
    assert broken(lambda p: p.update(root="ab" * 32)) == "the inclusion proof does not lead to the root"
    assert broken(lambda p: p["proof"].reverse()) == "the inclusion proof does not lead to the root"
    assert broken(lambda p: p["checkpoint"].update(signature=proof["checkpoint"]["signature"][:-4] + "0000")) in {
        "the checkpoint signature is not by its signer",
        "the checkpoint signature is malformed",
    }
    other = Account.create()
    forged = other.sign_message(encode_defunct(text=proof["checkpoint"]["statement"])).signature.hex()
    assert broken(lambda p: p["checkpoint"].update(signature="0x" + forged.removeprefix("0x"))) == (
        "the checkpoint signature is not by its signer"
    )
    with pytest.raises(ProofError, match="trusted signer"):
        verify_proof(proof, trusted_signer=other.address)
    assert broken(lambda p: p["checkpoint"].update(createdAt="2030-01-01T00:00:00.000000Z")) == (
        "the checkpoint statement does not match its fields"
    )


def test_standalone_canonical_json_is_rfc8785_for_event_bodies():
    body = {k: 'é\u2028\x01"\\ x/' for k in EVENT_FIELDS} | {"seq": 2**40}
    assert _canonical(body) == rfc8785.dumps(body)


def test_verify_audit_fails_at_exactly_the_edited_event(db, capsys):
    # given: a sealed log, then one row edited behind the application's back
    events = record(8)
    checkpoint_seal()
    call_command("verify_audit")
    drop_update_trigger("market_auditevent")
    AuditEvent.objects.filter(seq=5).update(action="ledger.forged")
    # when
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_audit")
    # then
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.strip() == (
        f"audit event seq 5 ({events[5].event_id}): hash does not match its fields"
    )


def test_verify_audit_finds_a_rewritten_chain_by_its_checkpoint(db):
    # given: events 4.. rewritten with consistent hashes, content hashes too (the chain alone looks fine)
    from market.audit.hashchain import content_hash, event_hash, event_time_text

    record(4)
    checkpoint_seal()
    record(4)
    checkpoint_seal()
    drop_update_trigger("market_auditevent")
    prev = AuditEvent.objects.get(seq=3).hash
    for ev in AuditEvent.objects.filter(seq__gte=4).order_by("seq"):
        digest = event_hash(
            seq=ev.seq,
            event_id=ev.event_id,
            actor_id=ev.actor_id,
            action="ledger.forged",
            object_type=ev.object_type,
            object_id=ev.object_id,
            payload_sha256=ev.payload_sha256,
            prev_hash=prev,
            created_at=event_time_text(ev.created_at),
        )
        content = content_hash(
            event_id=ev.event_id,
            actor_id=ev.actor_id,
            action="ledger.forged",
            object_type=ev.object_type,
            object_id=ev.object_id,
            payload_sha256=ev.payload_sha256,
            created_at=event_time_text(ev.created_at),
        )
        AuditEvent.objects.filter(pk=ev.pk).update(
            action="ledger.forged", content_hash=content, prev_hash=prev, hash=digest
        )
        prev = digest
    from market.models import AuditHead

    AuditHead.objects.filter(pk=1).update(last_hash=prev)
    # when
    found = list(problems())
    # then
    assert found == ["checkpoint 8: root does not match audit events 4..7"]


def test_verify_audit_rejects_a_checkpoint_with_a_bad_signature(db):
    # given: a checkpoint row whose signature is by another key
    events = record(2)
    root = merkle.root([merkle.event_leaf(e.hash) for e in events]).hex()
    statement = f"openclaw-checkpoint/v1\n2\n{root}\n2026-11-25T12:00:00.000000Z"
    sig = Account.create().sign_message(encode_defunct(text=statement)).signature.hex()
    Checkpoint.objects.create(
        tree_size=2, root=root, created_at=T0, signature="0x" + sig.removeprefix("0x"), signer=checkpoint_signer()
    )
    # when / then
    assert list(problems()) == ["checkpoint 2: signature is not by its signer"]
