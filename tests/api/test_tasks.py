"""web3.market.*: permissions and visibility (creator, bidder, other bidder, third party, staff),
guards, risk rules, hashes and signatures."""

from __future__ import annotations

import pytest
import time_machine

from market.hashing import object_hash
from tests.conftest import sign
from tests.task_support import SHA, START, Flow, available, fund, locked


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def cast(clock, sign_in):
    """creator, the bidder who will be awarded, a rival bidder, a third party and staff."""
    creator, bidder, rival, third = sign_in(), sign_in(), sign_in(), sign_in()
    staff = sign_in(roles=("staff",))
    fund(creator.actor_id, "100")
    flow = Flow(creator, bidder).publish().place_bid()
    rival_bid = rival.call("web3.market.placeBid", {"taskId": flow.task["taskId"], "price": "9", "etaSec": 60}).result
    return {
        "flow": flow,
        "creator": creator,
        "bidder": bidder,
        "rival": rival,
        "third": third,
        "staff": staff,
        "rival_bid": rival_bid,
    }


def test_open_task_is_public_and_bids_are_private(cast):
    f, task_id = cast["flow"], cast["flow"].task["taskId"]
    # an open task is visible to anyone signed in
    assert cast["third"].call("web3.market.getTask", {"taskId": task_id}).result["status"] == "task_open"

    # the creator sees all bids, a bidder only its own, a third party none
    def bids(who):
        return [b["bidderActorId"] for b in cast[who].call("web3.market.listBids", {"taskId": task_id}).result["items"]]

    assert sorted(bids("creator")) == sorted([cast["bidder"].actor_id, cast["rival"].actor_id])
    assert bids("bidder") == [cast["bidder"].actor_id]
    assert bids("third") == []
    # a bid is seen by its bidder and the creator only
    assert cast["rival"].call("web3.market.withdrawBid", {"bidId": f.bid["bidId"]}).code == "E_NOT_FOUND"
    assert cast["creator"].call("web3.market.withdrawBid", {"bidId": f.bid["bidId"]}).code == "E_FORBIDDEN"


def test_only_the_creator_awards_and_cancels(cast):
    f, task_id = cast["flow"], cast["flow"].task["taskId"]
    for who in ("bidder", "rival", "third"):
        assert (
            cast[who].call("web3.market.awardBid", {"taskId": task_id, "bidId": f.bid["bidId"]}).code == "E_FORBIDDEN"
        )
        assert cast[who].call("web3.market.cancelTask", {"taskId": task_id}).code == "E_FORBIDDEN"
    assert (
        cast["creator"].call("web3.market.placeBid", {"taskId": task_id, "price": "1", "etaSec": 1}).code
        == "E_FORBIDDEN"
    )


def test_awarded_task_visibility(cast):
    # given the task is awarded to the bidder
    f = cast["flow"].award_bid()
    task_id = f.task["taskId"]
    # then the third party no longer sees it; the rival bidder sees it without the award
    assert cast["third"].call("web3.market.getTask", {"taskId": task_id}).code == "E_NOT_FOUND"
    assert cast["third"].call("web3.market.cancelTask", {"taskId": task_id}).code == "E_NOT_FOUND"
    assert cast["rival"].call("web3.market.getTask", {"taskId": task_id}).result["award"] is None
    assert (
        cast["bidder"].call("web3.market.getTask", {"taskId": task_id}).result["award"]["awardId"] == f.award["awardId"]
    )
    assert cast["staff"].call("web3.market.getTask", {"taskId": task_id}).result["award"] is not None
    listed = {t["taskId"] for t in cast["third"].call("web3.market.listTasks").result["items"]}
    assert task_id not in listed
    # and the rival's bid was rejected by the award
    rival_bids = cast["rival"].call("web3.market.listBids", {"taskId": task_id}).result["items"]
    assert [b["status"] for b in rival_bids] == ["bid_rejected"]


def test_only_the_awarded_bidder_submits_and_only_the_creator_reviews(cast):
    f = cast["flow"].award_bid()
    params = {"taskId": f.task["taskId"], "summary": "s", "artifacts": []}
    assert cast["creator"].call("web3.market.submitResult", params).code == "E_FORBIDDEN"
    assert cast["rival"].call("web3.market.submitResult", params).code == "E_FORBIDDEN"
    assert cast["third"].call("web3.market.submitResult", params).code == "E_NOT_FOUND"
    f.submit()
    assert f.bidder.call("web3.market.submitResult", params).code == "E_CONFLICT"
    review = {"resultId": f.result["resultId"], "decision": "accept"}
    assert cast["bidder"].call("web3.market.reviewResult", review).code == "E_FORBIDDEN"
    assert cast["rival"].call("web3.market.reviewResult", review).code == "E_NOT_FOUND"
    assert cast["third"].call("web3.market.reviewResult", review).code == "E_NOT_FOUND"
    assert f.review("accept").ok


def test_award_without_funds_changes_nothing(clock, sign_in):
    # given a creator with 5 USDC and a bid of 8
    creator, bidder = sign_in(), sign_in()
    fund(creator.actor_id, "5")
    f = Flow(creator, bidder).publish().place_bid()
    # when the creator awards
    r = creator.call("web3.market.awardBid", {"taskId": f.task["taskId"], "bidId": f.bid["bidId"]})
    # then E_INSUFFICIENT_FUNDS and nothing moved or changed state
    assert r.code == "E_INSUFFICIENT_FUNDS"
    assert (available(creator.actor_id), locked(creator.actor_id)) == (5_000_000, 0)
    assert f.get_task()["status"] == "task_open"
    assert (
        creator.call("web3.market.listBids", {"taskId": f.task["taskId"]}).result["items"][0]["status"]
        == "bid_submitted"
    )


def test_list_tasks_filters(cast, sign_in):
    creator = cast["creator"]
    Flow(creator, cast["bidder"]).publish()
    mine = creator.call("web3.market.listTasks", {"creatorActorId": creator.actor_id, "limit": 1}).result
    assert len(mine["items"]) == 1 and mine["nextCursor"]
    page2 = creator.call(
        "web3.market.listTasks", {"creatorActorId": creator.actor_id, "limit": 1, "cursor": mine["nextCursor"]}
    ).result
    assert len(page2["items"]) == 1 and page2["nextCursor"] is None
    assert creator.call("web3.market.listTasks", {"status": "task_closed"}).result["items"] == []
    assert creator.call("web3.market.listTasks", {"status": "nope"}).code == "E_INVALID_ARGUMENT"


def test_task_hash_recomputes_from_its_fields(cast, anon):
    task = cast["flow"].task
    fields = anon.call("web3.capabilities.describe", {"name": "web3.market.publishTask"}).result["hashFields"]
    assert task["hash"] == object_hash({k: task[k] for k in fields})
    bid = cast["flow"].bid
    bid_fields = anon.call("web3.capabilities.describe", {"name": "web3.market.placeBid"}).result["hashFields"]
    assert bid["hash"] == object_hash({k: bid[k] for k in bid_fields})


# --- risk rules -----------------------------------------------------------------------------------------
def test_budget_cap_and_currency_allowlist(clock, sign_in, settings):
    settings.WEB3_TASK_BUDGET_CAP = "50"
    creator = sign_in()
    base = {"title": "t", "requirements": "r", "currency": "USDC", "ttlSec": 60}
    assert creator.call("web3.market.publishTask", {**base, "budget": "50.000001"}).code == "E_INVALID_ARGUMENT"
    assert creator.call("web3.market.publishTask", {**base, "budget": "50"}).ok
    assert (
        creator.call("web3.market.publishTask", {**base, "budget": "1", "currency": "DOGE"}).code
        == "E_INVALID_ARGUMENT"
    )
    assert creator.call("web3.market.publishTask", {**base, "budget": 1}).code == "E_INVALID_ARGUMENT"
    assert creator.call("web3.market.publishTask", {**base, "budget": "0"}).code == "E_INVALID_ARGUMENT"
    assert creator.call("web3.market.publishTask", {**base, "budget": "1.0000001"}).code == "E_INVALID_ARGUMENT"


def test_open_tasks_per_actor(clock, sign_in, settings):
    settings.WEB3_MAX_OPEN_TASKS = 2
    creator, bidder = sign_in(), sign_in()
    Flow(creator, bidder).publish()
    Flow(creator, bidder).publish()
    r = creator.call(
        "web3.market.publishTask", {"title": "t", "requirements": "r", "budget": "1", "currency": "USDC", "ttlSec": 60}
    )
    assert r.code == "E_QUOTA_EXCEEDED"


def test_bids_per_minute(clock, sign_in, settings):
    settings.WEB3_BIDS_PER_MINUTE = 2
    creator, bidder = sign_in(), sign_in()
    tasks = [Flow(creator, bidder).publish().task["taskId"] for _ in range(3)]
    bid = {"price": "1", "etaSec": 60}
    assert bidder.call("web3.market.placeBid", {"taskId": tasks[0], **bid}).ok
    clock.shift(30)
    assert bidder.call("web3.market.placeBid", {"taskId": tasks[1], **bid}).ok
    r = bidder.call("web3.market.placeBid", {"taskId": tasks[2], **bid})
    assert r.code == "E_QUOTA_EXCEEDED" and r.body["error"]["details"]["retryAfterSec"] == 30
    clock.shift(31)
    assert bidder.call("web3.market.placeBid", {"taskId": tasks[2], **bid}).ok


def test_bid_guards(cast):
    task_id = cast["flow"].task["taskId"]
    assert (
        cast["third"].call("web3.market.placeBid", {"taskId": task_id, "price": "10.000001", "etaSec": 1}).code
        == "E_INVALID_ARGUMENT"
    )
    assert (
        cast["bidder"].call("web3.market.placeBid", {"taskId": task_id, "price": "1", "etaSec": 1}).code == "E_CONFLICT"
    )
    assert (
        cast["third"].call("web3.market.placeBid", {"taskId": "task_nope", "price": "1", "etaSec": 1}).code
        == "E_NOT_FOUND"
    )
    # after withdrawing, the bidder may bid again
    assert cast["bidder"].call("web3.market.withdrawBid", {"bidId": cast["flow"].bid["bidId"]}).ok
    assert cast["bidder"].call("web3.market.placeBid", {"taskId": task_id, "price": "1", "etaSec": 1}).ok


# --- non-repudiation ----------------------------------------------------------------------------------------
def test_signed_bid_result_and_review(clock, sign_in):
    creator, bidder = sign_in(), sign_in()
    fund(creator.actor_id, "100")
    f = Flow(creator, bidder).publish(requireSignatures=True)
    task_id = f.task["taskId"]
    signed = {"taskId": task_id, "price": "8.000000", "etaSec": 3600, "note": ""}
    # unsigned, or signed by someone else: refused
    assert (
        bidder.call("web3.market.placeBid", {"taskId": task_id, "price": "8", "etaSec": 3600}).code
        == "E_INVALID_ARGUMENT"
    )
    assert (
        bidder.call(
            "web3.market.placeBid",
            {"taskId": task_id, "price": "8", "etaSec": 3600, "signature": sign(creator.account, object_hash(signed))},
        ).code
        == "E_AUTH_REQUIRED"
    )
    # signed by the bidder: accepted
    f.place_bid(signature=sign(bidder.account, object_hash(signed)))
    assert f.bid["signed"] is True
    f.award_bid()
    artifacts = [{"name": "out.txt", "sha256": SHA}]
    assert (
        bidder.call("web3.market.submitResult", {"taskId": task_id, "summary": "done", "artifacts": artifacts}).code
        == "E_INVALID_ARGUMENT"
    )
    result_sig = sign(bidder.account, object_hash({"taskId": task_id, "summary": "done", "artifacts": artifacts}))
    f.submit(signature=result_sig)
    assert f.result["signed"] is True
    review = {"resultId": f.result["resultId"], "decision": "accept", "reason": "good"}
    assert (
        creator.call("web3.market.reviewResult", {**review, "signature": sign(bidder.account, "x")}).code
        == "E_AUTH_REQUIRED"
    )
    out = creator.call("web3.market.reviewResult", {**review, "signature": sign(creator.account, object_hash(review))})
    assert out.result["receipt"]["status"] == "receipt_settled"


def test_staff_see_everything_but_act_only_as_themselves(cast):
    f = cast["flow"].award_bid().submit()
    staff = cast["staff"]
    assert (
        staff.call("web3.market.getTask", {"taskId": f.task["taskId"]}).result["result"]["resultId"]
        == f.result["resultId"]
    )
    assert (
        staff.call("web3.market.reviewResult", {"resultId": f.result["resultId"], "decision": "accept"}).code
        == "E_FORBIDDEN"
    )
    assert staff.call("web3.market.cancelTask", {"taskId": f.task["taskId"]}).code == "E_FORBIDDEN"
    assert staff.call("web3.market.withdrawBid", {"bidId": cast["rival_bid"]["bidId"]}).code == "E_FORBIDDEN"
    assert staff.call("web3.dispute.open", {"taskId": f.task["taskId"], "reason": "x"}).code == "E_FORBIDDEN"


def test_award_replayed_with_an_idempotency_key_locks_once(cast):
    f = cast["flow"]
    params = {"taskId": f.task["taskId"], "bidId": f.bid["bidId"]}
    first = cast["creator"].call("web3.market.awardBid", params, idempotency_key="award-1")
    again = cast["creator"].call("web3.market.awardBid", params, idempotency_key="award-1")
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.result == first.result
    assert (available(cast["creator"].actor_id), locked(cast["creator"].actor_id)) == (92_000_000, 8_000_000)
