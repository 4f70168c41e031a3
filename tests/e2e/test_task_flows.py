"""Full task and dispute flows through the gateway with exact balances, driving the clock and the
periodic jobs (`run_sweeps`)."""

from __future__ import annotations

import io

import pytest
import time_machine
from django.core.management import call_command

from market.audit.verify import problems
from tests.task_support import START, Flow, available, fund, locked, sha256_hex

pytestmark = pytest.mark.keypath


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def flow(clock, sign_in):
    creator, bidder = sign_in(), sign_in()
    fund(creator.actor_id, "100")
    return Flow(creator, bidder)


def sweeps():
    call_command("run_sweeps", stdout=io.StringIO())


def test_accept_releases_the_price_to_the_deliverer(flow):
    # given a delivered task
    flow.delivered()
    assert (available(flow.creator.actor_id), locked(flow.creator.actor_id)) == (92_000_000, 8_000_000)
    # when the creator accepts
    out = flow.review("accept").result
    # then the price went to the deliverer and the task is closed
    assert out["result"]["status"] == "result_accepted"
    assert out["receipt"]["status"] == "receipt_settled"
    assert out["receipt"]["settlementStatus"] == "settlement_released"
    assert (available(flow.creator.actor_id), locked(flow.creator.actor_id)) == (92_000_000, 0)
    assert available(flow.bidder.actor_id) == 8_000_000
    assert flow.get_task()["status"] == "task_closed"
    assert list(problems()) == []


def test_reject_then_window_passes_refunds_the_creator(flow, clock):
    # given a rejected result
    flow.delivered()
    out = flow.review("reject", "wrong language").result
    assert out["receipt"]["status"] == "receipt_pending"
    # when the dispute window passes and the sweeps run
    sweeps()
    assert available(flow.creator.actor_id) == 92_000_000
    clock.shift(601)
    sweeps()
    # then the creator has everything back
    assert (available(flow.creator.actor_id), locked(flow.creator.actor_id)) == (100_000_000, 0)
    assert available(flow.bidder.actor_id) == 0
    task = flow.get_task()
    assert (task["status"], task["receipt"]["status"]) == ("task_closed", "receipt_refunded")
    assert list(problems()) == []


def test_reject_dispute_evidence_split_ruling(flow, clock, sign_in):
    # given a rejected result, disputed by the deliverer with evidence
    arbitrator = sign_in(roles=("arbitrator",))
    flow.price = "7.000001"
    flow.delivered()
    flow.review("reject")
    dispute = flow.dispute().result
    assert (dispute["status"], dispute["merged"]) == ("dispute_open", False)
    assert dispute["evidence"][0]["kind"] == "bundle"
    ev = flow.bidder.call(
        "web3.dispute.submitEvidence",
        {
            "disputeId": dispute["disputeId"],
            "kind": "text",
            "content": "log",
            "sha256": "a0f1490a20d0211c997b44bc357e1972deab8ae3c2e4fa3a47b4f6a1d1a0d8b6",
        },
    )
    assert ev.code == "E_INVALID_ARGUMENT"  # the sha256 is not that of the content
    for party, text in ((flow.bidder, "all 12 cases pass"), (flow.creator, "4 of 12 cases are missing")):
        assert party.call(
            "web3.dispute.submitEvidence",
            {"disputeId": dispute["disputeId"], "kind": "text", "content": text, "sha256": sha256_hex(text)},
        ).ok
    # when an arbitrator rules 33.33% to the deliverer and the appeal window passes
    ruled = arbitrator.call(
        "web3.dispute.resolve",
        {"disputeId": dispute["disputeId"], "decision": "rule", "payeeShareBps": 3333, "rationale": "partly done"},
    ).result
    assert ruled["status"] == "dispute_resolved" and ruled["ruling"]["eventSeq"] is not None
    clock.shift(3599)
    sweeps()
    assert available(flow.bidder.actor_id) == 0
    clock.shift(2)
    sweeps()
    # then floor(7000001 * 3333 / 10000) = 2333100 goes to the deliverer and the rest back
    assert available(flow.bidder.actor_id) == 2_333_100
    assert (available(flow.creator.actor_id), locked(flow.creator.actor_id)) == (100_000_000 - 2_333_100, 0)
    got = flow.bidder.call("web3.dispute.get", {"disputeId": dispute["disputeId"]}).result
    assert got["paidOut"] is True
    assert [e["kind"] for e in got["evidence"]] == ["bundle", "text", "text"]
    task = flow.get_task()
    assert (task["status"], task["receipt"]["status"]) == ("task_closed", "receipt_settled")
    assert task["receipt"]["settlementStatus"] == "settlement_refunded"
    assert list(problems()) == []


def test_decline_lets_the_rejection_stand(flow, clock, sign_in):
    arbitrator = sign_in(roles=("arbitrator",))
    flow.delivered()
    flow.review("reject")
    dispute = flow.dispute().result
    # when the arbitrator declines and the appeal window passes
    assert arbitrator.call(
        "web3.dispute.resolve", {"disputeId": dispute["disputeId"], "decision": "decline", "rationale": "no case"}
    ).ok
    clock.shift(3601)
    sweeps()
    # then the creator is refunded
    assert (available(flow.creator.actor_id), available(flow.bidder.actor_id)) == (100_000_000, 0)
    assert flow.get_task()["receipt"]["status"] == "receipt_refunded"
    assert list(problems()) == []


def test_review_timeout_then_auto_release(flow, clock):
    flow.delivered()
    # when nobody reviews: after the review deadline a review is too late
    clock.shift(3601)
    assert flow.review("reject").code == "E_EXPIRED"
    sweeps()
    assert available(flow.bidder.actor_id) == 0
    # and with no dispute within the dispute window the deliverer is paid
    clock.shift(600)
    sweeps()
    assert available(flow.bidder.actor_id) == 8_000_000
    assert (available(flow.creator.actor_id), locked(flow.creator.actor_id)) == (92_000_000, 0)
    task = flow.get_task()
    assert (task["status"], task["receipt"]["status"]) == ("task_closed", "receipt_settled")


def test_appeal_then_final_ruling_by_another_arbitrator(flow, clock, sign_in):
    first, second = sign_in(roles=("arbitrator",)), sign_in(roles=("arbitrator",))
    flow.delivered()
    flow.review("reject")
    dispute_id = flow.dispute().result["disputeId"]
    assert first.call(
        "web3.dispute.resolve",
        {"disputeId": dispute_id, "decision": "rule", "payeeShareBps": 10000, "rationale": "all done"},
    ).ok
    # when the creator appeals within the window
    clock.shift(1800)
    appealed = flow.creator.call("web3.dispute.appeal", {"disputeId": dispute_id, "reason": "not so"}).result
    assert (appealed["status"], appealed["round"], appealed["ruling"]) == ("dispute_appealed", 2, None)
    clock.shift(3600)
    sweeps()
    assert available(flow.bidder.actor_id) == 0
    # then the first arbitrator may not rule again; another one's ruling is final and paid at once
    again = first.call("web3.dispute.resolve", {"disputeId": dispute_id, "decision": "decline", "rationale": "x"})
    assert again.code == "E_FORBIDDEN"
    final = second.call(
        "web3.dispute.resolve",
        {"disputeId": dispute_id, "decision": "rule", "payeeShareBps": 5000, "rationale": "half"},
    ).result
    assert final["ruling"]["final"] is True and final["appealDeadline"] is None
    assert flow.bidder.call("web3.dispute.appeal", {"disputeId": dispute_id, "reason": "x"}).code == "E_CONFLICT"
    sweeps()
    assert available(flow.bidder.actor_id) == 4_000_000
    assert available(flow.creator.actor_id) == 96_000_000
    assert list(problems()) == []


def test_cancel_after_missed_deliver_by_refunds(flow, clock):
    flow.publish().place_bid().award_bid()
    assert flow.creator.call("web3.market.cancelTask", {"taskId": flow.task["taskId"]}).code == "E_CONFLICT"
    clock.shift(3601)
    # when the creator cancels after deliverBy
    out = flow.creator.call("web3.market.cancelTask", {"taskId": flow.task["taskId"]}).result
    # then the award is revoked and the budget refunded
    assert out["status"] == "task_cancelled"
    assert (available(flow.creator.actor_id), locked(flow.creator.actor_id)) == (100_000_000, 0)
    assert flow.get_task()["award"]["status"] == "award_revoked"
    assert (
        flow.bidder.call(
            "web3.market.submitResult", {"taskId": flow.task["taskId"], "summary": "late", "artifacts": []}
        ).code
        == "E_CONFLICT"
    )


def test_cancel_open_task_rejects_bids(flow):
    flow.publish().place_bid()
    out = flow.creator.call("web3.market.cancelTask", {"taskId": flow.task["taskId"]}).result
    assert out["status"] == "task_cancelled"
    bids = flow.bidder.call("web3.market.listBids", {"taskId": flow.task["taskId"]}).result["items"]
    assert [b["status"] for b in bids] == ["bid_rejected"]
    assert available(flow.creator.actor_id) == 100_000_000


def test_expiry(flow, clock):
    flow.publish().place_bid()
    clock.shift(7200)
    # past expiresAt an award fails by the clock even before the sweep
    assert (
        flow.creator.call("web3.market.awardBid", {"taskId": flow.task["taskId"], "bidId": flow.bid["bidId"]}).code
        == "E_EXPIRED"
    )
    sweeps()
    sweeps()
    assert flow.get_task()["status"] == "task_expired"
    bids = flow.creator.call("web3.market.listBids", {"taskId": flow.task["taskId"]}).result["items"]
    assert [b["status"] for b in bids] == ["bid_rejected"]
    assert available(flow.creator.actor_id) == 100_000_000
