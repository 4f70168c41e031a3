"""A ruling moves money only once a local signed checkpoint covers its audit event."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import time_machine

from market.audit.checkpoints import checkpoint_seal, seal_sweep
from market.audit.payout_gate import payout_wait_reason, ruling_payout_ready
from market.audit.proofs import verify_proof
from market.audit.verify import problems
from market.services.task_sweeps import dispute_payout_sweep
from tests.task_support import START, Flow, available, fund


def test_gate_waits_for_a_checkpoint_covering_the_ruling_event(db):
    # given: events 0..2, the ruling at seq 2, a checkpoint of 2 events only
    from django.db import transaction

    from market.audit.log import audit_record

    for i in range(3):
        with transaction.atomic():
            audit_record(actor_id="system", action="test.note", object_type="dispute", object_id=f"d{i}")
            if i == 1:
                checkpoint_seal()
    ruling = SimpleNamespace(ruling_event_seq=2)
    # when / then
    assert payout_wait_reason(SimpleNamespace(ruling_event_seq=None)) == "ruling"
    assert payout_wait_reason(SimpleNamespace(ruling_event_seq=1)) is None
    assert (payout_wait_reason(ruling), ruling_payout_ready(ruling)) == ("checkpoint", False)
    checkpoint_seal()
    assert (payout_wait_reason(ruling), ruling_payout_ready(ruling)) == (None, True)


@pytest.mark.keypath
def test_a_ruling_pays_out_only_after_the_sweep_that_seals_its_event(sign_in):
    with time_machine.travel(START, tick=False) as clock:
        # given: a rejected result, disputed, ruled 100% to the deliverer, the appeal window passed
        creator, bidder, arbitrator = sign_in(), sign_in(), sign_in(roles=("arbitrator",))
        fund(creator.actor_id, "100")
        flow = Flow(creator, bidder)
        flow.delivered()
        flow.review("reject")
        dispute_id = flow.dispute().result["disputeId"]
        ruled = arbitrator.call(
            "web3.dispute.resolve",
            {"disputeId": dispute_id, "decision": "rule", "payeeShareBps": 10000, "rationale": "done"},
        ).result
        ruling_seq = ruled["ruling"]["eventSeq"]
        clock.shift(3601)
        # when: the payout sweep runs before any checkpoint covers the ruling
        assert dispute_payout_sweep() == {"paid": 0, "waiting": 1}
        # then: nothing moved, and the receipt says what it waits for
        assert available(bidder.actor_id) == 0
        assert flow.get_task()["receipt"]["payoutWaitingFor"] == "checkpoint"
        # when: the sealing sweep covers the ruling event, then the payout sweep runs
        assert seal_sweep()["treeSize"] > ruling_seq
        assert dispute_payout_sweep() == {"paid": 1, "waiting": 0}
        # then
        assert available(bidder.actor_id) == 8_000_000
        assert flow.get_task()["receipt"]["payoutWaitingFor"] is None
        events = bidder.call("web3.audit.trace", {"objectType": "dispute", "objectId": dispute_id}).result["items"]
        ruling_event = next(e for e in events if e["seq"] == ruling_seq)
        verify_proof(bidder.call("web3.audit.proof", {"eventId": ruling_event["eventId"]}).result)
        assert list(problems()) == []


def test_the_ruling_shows_its_checkpoint_and_chain_anchor_beside_it(sign_in, settings):
    from eth_account import Account

    from market.audit.anchoring import anchor_sweep

    # given: a chain to anchor on, and a ruling
    settings.WEB3_ANCHOR_RPC_URL = "tester://"
    settings.WEB3_ANCHOR_PRIVATE_KEY = Account.create().key.hex()
    with time_machine.travel(START, tick=False) as clock:
        creator, bidder, arbitrator = sign_in(), sign_in(), sign_in(roles=("arbitrator",))
        fund(creator.actor_id, "100")
        flow = Flow(creator, bidder)
        flow.delivered()
        flow.review("reject")
        dispute_id = flow.dispute().result["disputeId"]
        ruled = arbitrator.call(
            "web3.dispute.resolve",
            {"disputeId": dispute_id, "decision": "rule", "payeeShareBps": 5000, "rationale": "half"},
        ).result

        # then: right after the ruling, nothing covers it yet
        assert ruled["ruling"]["seal"] == {"sealed": False, "treeSize": None, "anchor": None}

        # when: the seal sweep runs
        tree_size = seal_sweep()["treeSize"]

        # then: the ruling shows its checkpoint, not yet its anchor; the payout does not wait for it
        seal = bidder.call("web3.dispute.get", {"disputeId": dispute_id}).result["ruling"]["seal"]
        assert seal == {"sealed": True, "treeSize": tree_size, "anchor": None}
        clock.shift(3601)
        assert dispute_payout_sweep() == {"paid": 1, "waiting": 0}

        # when: the anchor sweep puts that checkpoint's root on the chain
        anchor_sweep()
        anchor_sweep()

        # then: the chain transaction is shown beside the ruling
        seal = bidder.call("web3.dispute.get", {"disputeId": dispute_id}).result["ruling"]["seal"]
        assert seal["sealed"] is True and seal["treeSize"] == tree_size
        assert seal["anchor"]["status"] == "anchored" and seal["anchor"]["txHash"].startswith("0x")
