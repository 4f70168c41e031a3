"""Anchoring checkpoint roots on web3's in-process test chain: stored raw transactions, retries
that rebroadcast the same bytes, backoff, and verify_audit reading anchors back from the chain."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from eth_account import Account

from market.audit import chain as chain_mod
from market.audit.anchoring import anchor_sweep
from market.audit.checkpoints import checkpoint_seal
from market.audit.log import audit_record
from market.audit.verify import problems
from market.models import Checkpoint, CheckpointAnchor
from tests.audit_support import audit_proof, seal_state

A = "0x" + "a1" * 20
T0 = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
S = CheckpointAnchor.Status


@pytest.fixture
def tester_chain(settings):
    """A fresh anchor key on the process's test chain (the chain outlives each test's database)."""
    settings.WEB3_ANCHOR_RPC_URL = "tester://"
    settings.WEB3_ANCHOR_PRIVATE_KEY = Account.create().key.hex()
    return chain_mod.chain()


def seal_checkpoints(sizes) -> list[Checkpoint]:
    out = []
    for n in sizes:
        for i in range(n):
            with transaction.atomic():
                audit_record(actor_id=A, action="test.note", object_type="task", object_id=f"t{i}", payload={})
        out.append(checkpoint_seal())
    return out


def roots_on_chain(chain) -> list[str]:
    """The input data of every transaction the anchor key sent, in chain order."""
    w3 = chain.w3
    found = []
    for number in range(w3.eth.block_number + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            if tx["from"].lower() == chain.sender:
                found.append(bytes(tx["input"] if "input" in tx else tx["data"]).hex())
    return found


def test_without_a_chain_anchoring_is_off(db, settings):
    settings.WEB3_ANCHOR_RPC_URL = ""
    seal_checkpoints([1])
    assert anchor_sweep() == {"anchoring": "off"}
    assert CheckpointAnchor.objects.count() == 0


@pytest.mark.keypath
def test_every_checkpoint_is_anchored_once(db, tester_chain):
    # given
    checkpoints = seal_checkpoints([2, 3, 1])
    # when
    with time_machine.travel(T0, tick=False):
        report = anchor_sweep()
    # then
    assert report == {"anchored": 3, "failed": 0, "waiting": 0}
    assert roots_on_chain(tester_chain) == [cp.root for cp in checkpoints]
    anchors = list(CheckpointAnchor.objects.order_by("checkpoint__tree_size"))
    assert [(a.status, a.nonce, a.chain_id, a.anchored_at) for a in anchors] == [
        (S.ANCHORED, n, 131277322940537, T0) for n in range(3)
    ]
    assert anchor_sweep() == {"anchored": 0, "failed": 0, "waiting": 0}
    assert roots_on_chain(tester_chain) == [cp.root for cp in checkpoints]
    assert list(problems()) == []
    assert seal_state(0)["anchor"]["status"] == "anchored"


def test_an_rpc_failure_in_the_middle_then_recovery_anchors_each_checkpoint_exactly_once(
    db, tester_chain, monkeypatch, caplog
):
    # given: three checkpoints, and a node that fails the second broadcast once
    checkpoints = seal_checkpoints([1, 1, 1])
    real_send = tester_chain.w3.eth.send_raw_transaction
    calls = {"n": 0}

    def flaky_send(raw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionError("node at http://user:secret@10.0.0.5:8545 went away")
        return real_send(raw)

    monkeypatch.setattr(tester_chain.w3.eth, "send_raw_transaction", flaky_send)
    monkeypatch.setattr(chain_mod, "chain", lambda: tester_chain)
    # when: the first run stops at the failure
    with time_machine.travel(T0, tick=False):
        assert anchor_sweep() == {"anchored": 1, "failed": 1, "waiting": 2}
    second = CheckpointAnchor.objects.get(checkpoint=checkpoints[1])
    signed_before = (second.raw_tx, second.tx_hash, second.nonce)
    # then: the failed one keeps its signed transaction, waits out its backoff, and leaks nothing
    assert (second.status, second.attempts, second.next_attempt_at) == (S.SIGNED, 1, T0 + timedelta(seconds=15))
    assert second.last_error == "chain call failed (ConnectionError)"
    assert "audit anchoring failed" in caplog.text and "secret" not in caplog.text
    assert CheckpointAnchor.objects.get(checkpoint=checkpoints[2]).status == S.PENDING
    with time_machine.travel(T0 + timedelta(seconds=10), tick=False):
        assert anchor_sweep() == {"anchored": 0, "failed": 0, "waiting": 2}
    # when: the backoff has passed
    with time_machine.travel(T0 + timedelta(seconds=15), tick=False):
        assert anchor_sweep() == {"anchored": 2, "failed": 0, "waiting": 0}
    # then: the same transaction was rebroadcast and every root is on chain exactly once
    second.refresh_from_db()
    assert (second.raw_tx, second.tx_hash, second.nonce) == signed_before
    assert roots_on_chain(tester_chain) == [cp.root for cp in checkpoints]
    assert list(problems()) == []


def test_a_lost_answer_is_recovered_without_a_second_transaction(db, tester_chain, monkeypatch):
    # given: the node accepts the transaction but the answer never arrives
    checkpoints = seal_checkpoints([2])
    real_send = tester_chain.w3.eth.send_raw_transaction
    lost = {"done": False}

    def send_then_drop(raw):
        result = real_send(raw)
        if not lost["done"]:
            lost["done"] = True
            raise TimeoutError("read timed out")
        return result

    monkeypatch.setattr(tester_chain.w3.eth, "send_raw_transaction", send_then_drop)
    monkeypatch.setattr(chain_mod, "chain", lambda: tester_chain)
    # when: the first broadcast reports a failure, the retry rebroadcasts the stored bytes
    with time_machine.travel(T0, tick=False):
        anchor_sweep()
    anchor = CheckpointAnchor.objects.get()
    if anchor.status != S.ANCHORED:
        with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
            anchor_sweep()
    # then
    anchor.refresh_from_db()
    assert anchor.status == S.ANCHORED
    assert roots_on_chain(tester_chain) == [checkpoints[0].root]


def test_proof_names_its_anchor_and_verify_audit_reads_anchors_back(db, tester_chain):
    # given
    first, second = seal_checkpoints([1, 1])
    anchor_sweep()
    event_id = audit_proof(event_id=_event_id(0), actor_id=A)["event"]["eventId"]
    proof = audit_proof(event_id=event_id, actor_id=A)
    anchor = CheckpointAnchor.objects.get(checkpoint=first)
    assert proof["anchor"] == {
        "txHash": anchor.tx_hash,
        "chainId": 131277322940537,
        "status": "anchored",
        "blockNumber": anchor.block_number,
    }
    # when: an anchor row is pointed at another checkpoint's transaction
    other = CheckpointAnchor.objects.get(checkpoint=second)
    CheckpointAnchor.objects.filter(pk=anchor.pk).update(tx_hash=other.tx_hash)
    # then
    assert list(problems()) == ["checkpoint 1: the anchor transaction carries another root"]


def _event_id(seq: int) -> str:
    from market.models import AuditEvent

    return AuditEvent.objects.get(seq=seq).event_id


def test_the_database_refuses_a_reused_nonce_and_a_signed_anchor_without_its_transaction(db):
    from django.db import IntegrityError

    # given two checkpoints, the first one's anchor signed with nonce 0
    first, second = seal_checkpoints([1, 1])
    signed = {"status": S.SIGNED, "chain_id": 1, "sender": A, "nonce": 0, "raw_tx": "0x01", "tx_hash": "0x02"}
    CheckpointAnchor.objects.create(checkpoint=first, **signed)
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckpointAnchor.objects.create(checkpoint=second, **signed)
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckpointAnchor.objects.create(checkpoint=second, **{**signed, "nonce": 1, "raw_tx": ""})
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckpointAnchor.objects.create(checkpoint=second, status="anchor_lost")
