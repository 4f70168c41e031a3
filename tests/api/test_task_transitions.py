"""Every allowed and every forbidden transition of every task-market object, through the API, with
the exact error code (None: allowed)."""

from __future__ import annotations

import io

import pytest
import time_machine
from django.core.management import call_command

from tests.task_support import START, Flow, fund, sha256_hex


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(clock, sign_in):
    creator, bidder, other = sign_in(), sign_in(), sign_in()
    arbitrators = sign_in(roles=("arbitrator",)), sign_in(roles=("arbitrator",))
    fund(creator.actor_id, "100")
    return {"flow": Flow(creator, bidder), "other": other, "arbs": arbitrators, "clock": clock}


def ok(response):
    assert response.ok, response.body
    return response.result


def sweeps():
    call_command("run_sweeps", stdout=io.StringIO())


# --- TaskOrder --------------------------------------------------------------------------------------------
def task_state(w, state):
    f, clock = w["flow"], w["clock"]
    if state == "task_open":
        f.publish().place_bid()
    elif state == "task_open_past_expiry":
        f.publish().place_bid()
        clock.shift(7200)
    elif state == "task_awarded":
        f.publish().place_bid().award_bid()
    elif state == "task_awarded_past_deliver_by":
        f.publish().place_bid().award_bid()
        clock.shift(3601)
    elif state == "task_closed":
        f.delivered().review("accept")
    elif state == "task_cancelled":
        f.publish().place_bid()
        ok(f.creator.call("web3.market.cancelTask", {"taskId": f.task["taskId"]}))
    elif state == "task_expired":
        f.publish().place_bid()
        clock.shift(7200)
        sweeps()
    expected_status = state.split("_past")[0]
    assert f.get_task()["status"] == expected_status


def task_verb(w, state, verb):
    f = w["flow"]
    task_id = f.task["taskId"]
    if verb == "placeBid":
        # an open task is public; a closed one is seen by its bidders (another bidder than the flow's
        # would get E_NOT_FOUND, which the visibility tests cover)
        who = w["other"] if state.startswith("task_open") else f.bidder
        return who.call("web3.market.placeBid", {"taskId": task_id, "price": "1", "etaSec": 60})
    if verb == "awardBid":
        return f.creator.call("web3.market.awardBid", {"taskId": task_id, "bidId": f.bid["bidId"]})
    if verb == "cancelTask":
        return f.creator.call("web3.market.cancelTask", {"taskId": task_id})
    if verb == "submitResult":
        return f.bidder.call("web3.market.submitResult", {"taskId": task_id, "summary": "s", "artifacts": []})
    raise AssertionError(verb)


C, X = "E_CONFLICT", "E_EXPIRED"
TASK_VERBS = ("placeBid", "awardBid", "cancelTask", "submitResult")
TASK_TABLE = {
    "task_open": (None, None, None, C),
    "task_open_past_expiry": (X, X, X, C),
    "task_awarded": (C, C, C, None),
    "task_awarded_past_deliver_by": (C, C, None, X),
    "task_closed": (C, C, C, C),
    "task_cancelled": (C, C, C, C),
    "task_expired": (C, C, C, C),
}


@pytest.mark.parametrize(
    ("state", "verb", "code"), [(s, v, codes[i]) for s, codes in TASK_TABLE.items() for i, v in enumerate(TASK_VERBS)]
)
def test_task_transitions(world, state, verb, code):
    # given a task in `state`
    task_state(world, state)
    # when the verb is called
    r = task_verb(world, state, verb)
    # then it is allowed or refused with the exact code
    assert r.code == code, r.body


# --- TaskBid --------------------------------------------------------------------------------------------
def bid_state(w, state):
    f = w["flow"]
    f.publish().place_bid()
    if state == "bid_withdrawn":
        ok(f.bidder.call("web3.market.withdrawBid", {"bidId": f.bid["bidId"]}))
    elif state == "bid_accepted":
        f.award_bid()
    elif state == "bid_rejected":
        rival = w["other"].call("web3.market.placeBid", {"taskId": f.task["taskId"], "price": "2", "etaSec": 60})
        ok(f.creator.call("web3.market.awardBid", {"taskId": f.task["taskId"], "bidId": rival.result["bidId"]}))
    bids = f.bidder.call("web3.market.listBids", {"taskId": f.task["taskId"]}).result["items"]
    assert bids[0]["status"] == state


@pytest.mark.parametrize(
    ("state", "verb", "code"),
    [
        ("bid_submitted", "withdrawBid", None),
        ("bid_submitted", "awardBid", None),
        ("bid_withdrawn", "withdrawBid", C),
        ("bid_withdrawn", "awardBid", C),
        ("bid_accepted", "withdrawBid", C),
        ("bid_accepted", "awardBid", C),
        ("bid_rejected", "withdrawBid", C),
        ("bid_rejected", "awardBid", C),
    ],
)
def test_bid_transitions(world, state, verb, code):
    bid_state(world, state)
    f = world["flow"]
    if verb == "withdrawBid":
        r = f.bidder.call("web3.market.withdrawBid", {"bidId": f.bid["bidId"]})
    else:
        r = f.creator.call("web3.market.awardBid", {"taskId": f.task["taskId"], "bidId": f.bid["bidId"]})
    assert r.code == code, r.body


# --- TaskResult -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("state", "decision", "code"),
    [
        ("result_submitted", "accept", None),
        ("result_submitted", "reject", None),
        ("result_submitted_past_deadline", "accept", X),
        ("result_submitted_past_deadline", "reject", X),
        ("result_accepted", "accept", C),
        ("result_accepted", "reject", C),
        ("result_rejected", "accept", C),
        ("result_rejected", "reject", C),
    ],
)
def test_result_transitions(world, state, decision, code):
    f = world["flow"].delivered()
    if state == "result_submitted_past_deadline":
        world["clock"].shift(3601)
    elif state != "result_submitted":
        ok(f.review({"result_accepted": "accept", "result_rejected": "reject"}[state]))
    assert f.review(decision).code == code


# --- TaskReceipt (dispute.open by the deliverer) ----------------------------------------------------------
def receipt_state(w, state):
    f, clock = w["flow"], w["clock"]
    f.delivered()
    if state == "pending_rejected":
        ok(f.review("reject"))
    elif state == "pending_unreviewed_past_review_deadline":
        clock.shift(3601)
    elif state == "pending_rejected_past_window":
        ok(f.review("reject"))
        clock.shift(601)
    elif state == "receipt_settled":
        ok(f.review("accept"))
    elif state == "receipt_refunded":
        ok(f.review("reject"))
        clock.shift(601)
        sweeps()
    elif state == "receipt_disputed":
        ok(f.review("reject"))
        ok(f.dispute())


@pytest.mark.parametrize(
    ("state", "code", "merged"),
    [
        ("pending_rejected", None, False),
        ("pending_unreviewed_past_review_deadline", None, False),
        ("pending_unreviewed", C, None),
        ("pending_rejected_past_window", X, None),
        ("receipt_settled", C, None),
        ("receipt_refunded", C, None),
        ("receipt_disputed", None, True),
    ],
)
def test_receipt_dispute_open(world, state, code, merged):
    receipt_state(world, state)
    r = world["flow"].dispute()
    assert r.code == code, r.body
    if merged is not None:
        assert r.result["merged"] is merged


# --- Dispute ----------------------------------------------------------------------------------------------
def dispute_state(w, state) -> str:
    f, (a1, _), clock = w["flow"], w["arbs"], w["clock"]
    f.delivered()
    f.review("reject")
    dispute_id = f.dispute().result["disputeId"]
    if state == "dispute_open":
        return dispute_id
    decision = {"decision": "decline"} if "rejected" in state else {"decision": "rule", "payeeShareBps": 5000}
    ok(a1.call("web3.dispute.resolve", {"disputeId": dispute_id, "rationale": "r", **decision}))
    if state.endswith("past_appeal_window"):
        clock.shift(3601)
    if state.startswith("dispute_appealed") or state.endswith("final"):
        ok(f.creator.call("web3.dispute.appeal", {"disputeId": dispute_id, "reason": "no"}))
    if state.endswith("final"):
        ok(
            w["arbs"][1].call(
                "web3.dispute.resolve",
                {"disputeId": dispute_id, "decision": "rule", "payeeShareBps": 1, "rationale": "r"},
            )
        )
    return dispute_id


def dispute_verb(w, verb, dispute_id):
    f, arb = w["flow"], w["arbs"][1]
    if verb == "rule":
        return arb.call(
            "web3.dispute.resolve", {"disputeId": dispute_id, "decision": "rule", "payeeShareBps": 10, "rationale": "r"}
        )
    if verb == "decline":
        return arb.call("web3.dispute.resolve", {"disputeId": dispute_id, "decision": "decline", "rationale": "r"})
    if verb == "appeal":
        return f.bidder.call("web3.dispute.appeal", {"disputeId": dispute_id, "reason": "again"})
    if verb == "evidence":
        return f.bidder.call(
            "web3.dispute.submitEvidence",
            {"disputeId": dispute_id, "kind": "text", "content": "x", "sha256": sha256_hex("x")},
        )
    raise AssertionError(verb)


DISPUTE_VERBS = ("rule", "decline", "appeal", "evidence")
DISPUTE_TABLE = {
    "dispute_open": (None, None, C, None),
    "dispute_resolved": (C, C, None, C),
    "dispute_rejected": (C, C, None, C),
    "dispute_resolved_past_appeal_window": (C, C, X, C),
    "dispute_appealed": (None, None, C, None),
    "dispute_resolved_final": (C, C, C, C),
}


@pytest.mark.parametrize(
    ("state", "verb", "code"),
    [(s, v, codes[i]) for s, codes in DISPUTE_TABLE.items() for i, v in enumerate(DISPUTE_VERBS)],
)
def test_dispute_transitions(world, state, verb, code):
    dispute_id = dispute_state(world, state)
    r = dispute_verb(world, verb, dispute_id)
    assert r.code == code, r.body
