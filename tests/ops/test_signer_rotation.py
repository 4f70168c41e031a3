"""Rotating the checkpoint key and the chain keys: new checkpoints name the new signer, old ones
still verify against the signer history, a key changed without recording it stops sealing, and
transactions signed by a previous chain key keep their stored bytes."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from eth_account import Account

from market.audit import chain as chain_mod
from market.audit.anchoring import anchor_sign, anchor_sweep, anchors_ensure
from market.audit.checkpoints import CheckpointSignerNotRecorded, checkpoint_seal
from market.audit.log import audit_record
from market.audit.proofs import verify_proof
from market.audit.verify import problems
from market.models import AuditEvent, Checkpoint, CheckpointAnchor, SignerRecord
from tests.audit_support import audit_proof

A = "0x" + "a1" * 20


def note(n: int = 1) -> None:
    for i in range(n):
        with transaction.atomic():
            audit_record(actor_id=A, action="test.note", object_type="task", object_id=f"t{i}", payload={})


def proof_of(seq: int) -> dict:
    return audit_proof(event_id=AuditEvent.objects.get(seq=seq).event_id, actor_id=A)


def rotate_key(*args: str) -> str:
    out = io.StringIO()
    call_command("rotate_key", *args, stdout=out)
    return out.getvalue()


@pytest.mark.keypath
def test_checkpoint_key_rotation_keeps_old_checkpoints_verifying(db, settings):
    old = Account.from_key(settings.WEB3_CHECKPOINT_KEY)
    new = Account.create()
    # given: checkpoints by the old key, and an event sealed by it
    note(2)
    first = checkpoint_seal()
    old_proof = proof_of(0)
    note(1)
    # when: the configured key changes without being recorded, sealing stops (nothing is signed)
    settings.WEB3_CHECKPOINT_KEY = new.key.hex()
    with pytest.raises(CheckpointSignerNotRecorded):
        checkpoint_seal()
    assert Checkpoint.objects.count() == 1
    # when: the rotation is recorded
    out = rotate_key("checkpoint")
    assert f"{old.address.lower()} -> {new.address.lower()}" in out and "after tree size 2" in out
    assert new.key.hex().removeprefix("0x") not in out
    second = checkpoint_seal()
    # then: the new checkpoint names the new signer, the old one its own, and everything verifies
    assert (first.signer, second.signer) == (old.address.lower(), new.address.lower())
    assert list(problems()) == []
    verify_proof(old_proof, trusted_signer=old.address)
    verify_proof(proof_of(2), trusted_signer=new.address)
    event = AuditEvent.objects.get(action="checkpoint.signer_rotated")
    assert json.loads(event.payload)["fromTreeSize"] == 2
    assert [(r.address, r.from_tree_size) for r in SignerRecord.objects.filter(purpose="checkpoint")] == [
        (old.address.lower(), 0),
        (new.address.lower(), 2),
    ]
    assert "already the recorded one" in rotate_key("checkpoint")


def test_a_checkpoint_resigned_by_another_key_fails_verification(db, settings):
    # given: a sealed log, then a checkpoint re-signed by a key the history does not name
    note(2)
    checkpoint_seal()
    intruder = Account.create()
    note(1)
    settings.WEB3_CHECKPOINT_KEY = intruder.key.hex()
    SignerRecord.objects.create(purpose="checkpoint", address=intruder.address.lower(), from_tree_size=2)
    cp = checkpoint_seal()
    SignerRecord.objects.filter(address=intruder.address.lower()).delete()  # the history has no such key
    # then
    assert list(problems()) == [
        f"checkpoint {cp.tree_size}: signed by {intruder.address.lower()}, not the signer the history records for it"
    ]


def test_rotate_key_generate_writes_the_key_file_and_keeps_the_previous_one(db, settings, monkeypatch, tmp_path):
    # given: keys kept in var/keys/ rather than in the environment
    monkeypatch.delenv("WEB3_CHECKPOINT_KEY")
    settings.VAR_DIR = tmp_path
    (tmp_path / "keys").mkdir()
    previous = settings.WEB3_CHECKPOINT_KEY
    (tmp_path / "keys" / "checkpoint_key").write_text(previous + "\n")
    note(1)
    # when
    out = rotate_key("checkpoint", "--generate")
    # then: what the old key could seal it sealed first; the new key is on file and recorded
    written = (tmp_path / "keys" / "checkpoint_key").read_text().strip()
    assert (tmp_path / "keys" / "checkpoint_key.retired-1").read_text().strip() == previous
    assert Checkpoint.objects.get().signer == Account.from_key(previous).address.lower()
    assert written not in out and written.removeprefix("0x") not in out and str(tmp_path) not in out
    assert "previous kept as checkpoint_key.retired-1" in out
    assert SignerRecord.objects.filter(purpose="checkpoint").last().address == Account.from_key(written).address.lower()
    note(1)
    assert checkpoint_seal().signer == Account.from_key(written).address.lower()
    assert list(problems()) == []
    # and a key given by the environment is never overwritten
    monkeypatch.setenv("WEB3_CHECKPOINT_KEY", written)
    with pytest.raises(CommandError, match="set in the environment"):
        rotate_key("checkpoint", "--generate")


def test_anchor_key_rotation_keeps_the_signed_transactions_bytes(db, settings):
    # given: the old anchor key has signed (not yet sent) the anchor of a checkpoint
    settings.WEB3_ANCHOR_RPC_URL = "tester://"
    settings.WEB3_ANCHOR_PRIVATE_KEY = Account.create().key.hex()
    old = chain_mod.chain()
    assert "(none recorded) -> " + old.sender in rotate_key("anchor")
    note(2)
    checkpoint_seal()
    anchors_ensure()
    anchor = CheckpointAnchor.objects.get()
    assert anchor_sign(anchor_id=anchor.pk, chain=old)
    anchor.refresh_from_db()
    signed_bytes = anchor.raw_tx
    # when: the key is rotated and another checkpoint is written
    new_key = Account.create()
    settings.WEB3_ANCHOR_PRIVATE_KEY = new_key.key.hex()
    out = rotate_key("anchor")
    assert f"{old.sender} -> {new_key.address.lower()}" in out
    assert "1 transaction(s) signed by a previous key are in flight" in out
    note(1)
    checkpoint_seal()
    report = anchor_sweep()
    # then: the old row went out with its stored bytes from the old key, the new one from the new key
    assert report == {"anchored": 2, "failed": 0, "waiting": 0}
    rows = list(CheckpointAnchor.objects.order_by("checkpoint__tree_size"))
    assert rows[0].raw_tx == signed_bytes and rows[0].sender == old.sender
    assert rows[1].sender == new_key.address.lower()
    assert list(problems()) == []
    event = AuditEvent.objects.filter(action="chain_key.rotated").last()
    assert json.loads(event.payload) == {
        "purpose": "anchor",
        "previous": old.sender,
        "address": new_key.address.lower(),
    }
    assert new_key.key.hex().removeprefix("0x") not in out


def test_the_migration_backfills_the_history_from_existing_checkpoints(db):
    """One row per run of consecutive checkpoints by the same signer."""
    from importlib import import_module

    from django.apps import apps
    from django.utils import timezone

    backfill = import_module("market.migrations.0020_signer_history").backfill
    a, b = "0x" + "a" * 40, "0x" + "b" * 40
    for size, signer in [(2, a), (5, a), (9, b), (12, b), (15, a)]:
        Checkpoint.objects.create(
            tree_size=size, root="1" * 64, created_at=timezone.now(), signature="0x", signer=signer
        )
    backfill(apps, None)
    assert list(SignerRecord.objects.order_by("pk").values_list("address", "from_tree_size")) == [
        (a, 0),
        (b, 5),
        (a, 12),
    ]
