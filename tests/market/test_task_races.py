"""Races on PostgreSQL: concurrent awards of one task, a review racing the window sweep, and two
sweeps at once. Each object moves once and money moves once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from market.audit.verify import problems
from market.models import Settlement, TaskReceipt, Transfer
from market.services import task_sweeps
from openclaw.periodic import run_job
from tests.conftest import Api, in_thread
from tests.task_support import Flow, available, fund, locked

pytestmark = [pytest.mark.concurrency, pytest.mark.postgres]


def fresh(api: Api) -> Api:
    """The same actor on its own client (each thread needs its own)."""
    return Api(Client(), api.token, api.actor_id, api.account)


def run_together(*fns):
    barrier = threading.Barrier(len(fns))

    def wrap(fn):
        def go():
            barrier.wait(10)
            return fn()

        return go

    threads = [in_thread(wrap(fn)) for fn in fns]
    for thread, _ in threads:
        thread.join(30)
    return [out for _, out in threads]


def test_two_concurrent_awards_one_wins(transactional_db, sign_in):
    # given an open task with two bids and a creator who can afford both
    creator, bidder, rival = sign_in(), sign_in(), sign_in()
    fund(creator.actor_id, "100")
    f = Flow(creator, bidder).publish().place_bid()
    rival_bid = rival.call("web3.market.placeBid", {"taskId": f.task["taskId"], "price": "9", "etaSec": 60}).result
    # when both bids are awarded at once
    outs = run_together(
        lambda: fresh(creator).call("web3.market.awardBid", {"taskId": f.task["taskId"], "bidId": f.bid["bidId"]}),
        lambda: fresh(creator).call("web3.market.awardBid", {"taskId": f.task["taskId"], "bidId": rival_bid["bidId"]}),
    )
    # then exactly one award and one escrow lock
    codes = sorted(str(o["value"].code) for o in outs)
    assert codes == ["E_CONFLICT", "None"]
    winner = next(o["value"].result for o in outs if o["value"].ok)
    assert Settlement.objects.filter(reference=f"task:{f.task['taskId']}").count() == 1
    price = 8_000_000 if winner["bidId"] == f.bid["bidId"] else 9_000_000
    assert (available(creator.actor_id), locked(creator.actor_id)) == (100_000_000 - price, price)
    assert list(problems()) == []


def test_review_racing_the_window_sweep(transactional_db, sign_in, settings):
    # given delivered results whose review deadline is now, with no dispute window
    settings.WEB3_DISPUTE_WINDOW_SEC = 0
    creator, bidder = sign_in(), sign_in()
    fund(creator.actor_id, "100")
    flows = [Flow(creator, bidder, price="1", review_sec=1).delivered() for _ in range(4)]
    # when each is accepted while the window sweep runs
    for f in flows:
        outs = run_together(
            lambda f=f: fresh(creator).call(
                "web3.market.reviewResult", {"resultId": f.result["resultId"], "decision": "accept"}
            ),
            task_sweeps.receipt_window_sweep,
        )
        assert "error" not in outs[1], outs[1]
    # then (after the deadline passed and the sweep ran once more) every receipt settled with one release
    later = timezone.now() + timedelta(seconds=2)
    TaskReceipt.objects.filter(status=TaskReceipt.Status.PENDING).update(dispute_deadline=later - timedelta(seconds=3))
    task_sweeps.receipt_window_sweep()
    for f in flows:
        receipt = TaskReceipt.objects.get(result__result_id=f.result["resultId"])
        assert receipt.status == TaskReceipt.Status.SETTLED
        releases = Transfer.objects.filter(settlement=receipt.settlement, code=Transfer.Code.ESCROW_RELEASE)
        assert releases.count() == 1
    assert available(bidder.actor_id) == 4_000_000
    assert (available(creator.actor_id), locked(creator.actor_id)) == (96_000_000, 0)
    assert list(problems()) == []


def test_two_sweeps_at_once_move_each_receipt_once(transactional_db, sign_in, settings):
    # given rejected results whose dispute window has closed
    settings.WEB3_DISPUTE_WINDOW_SEC = 0
    creator, bidder = sign_in(), sign_in()
    fund(creator.actor_id, "100")
    flows = [Flow(creator, bidder, price="1").delivered() for _ in range(6)]
    for f in flows:
        assert f.review("reject").ok
    TaskReceipt.objects.update(dispute_deadline=timezone.now() - timedelta(seconds=1))
    # when two sweeps run together
    outs = run_together(task_sweeps.receipt_window_sweep, task_sweeps.receipt_window_sweep)
    # then every receipt was refunded once
    assert sum(o["value"]["refunded"] for o in outs) == 6
    assert TaskReceipt.objects.filter(status=TaskReceipt.Status.REFUNDED).count() == 6
    assert Transfer.objects.filter(code=Transfer.Code.ESCROW_REFUND).count() == 6
    assert (available(creator.actor_id), locked(creator.actor_id)) == (100_000_000, 0)
    assert list(problems()) == []


def test_two_concurrent_dispute_opens_make_one_dispute(transactional_db, sign_in):
    # given a rejected result
    creator, bidder = sign_in(), sign_in()
    fund(creator.actor_id, "100")
    f = Flow(creator, bidder).delivered()
    assert f.review("reject").ok
    # when the deliverer opens twice at once
    params = {"taskId": f.task["taskId"], "reason": "done"}
    outs = run_together(
        lambda: fresh(bidder).call("web3.dispute.open", params), lambda: fresh(bidder).call("web3.dispute.open", params)
    )
    # then one dispute, and one of the calls was merged into it
    results = [o["value"].result for o in outs]
    assert results[0]["disputeId"] == results[1]["disputeId"]
    assert sorted(r["merged"] for r in results) == [False, True]


def test_two_payout_sweeps_at_once_pay_once(transactional_db, sign_in, settings):
    # given three rulings whose appeal window has closed
    settings.WEB3_APPEAL_WINDOW_SEC = 0
    creator, bidder = sign_in(), sign_in()
    arbitrator = sign_in(roles=("arbitrator",))
    fund(creator.actor_id, "100")
    for _ in range(3):
        f = Flow(creator, bidder, price="1").delivered()
        assert f.review("reject").ok
        dispute_id = f.dispute().result["disputeId"]
        assert arbitrator.call(
            "web3.dispute.resolve",
            {"disputeId": dispute_id, "decision": "rule", "payeeShareBps": 5000, "rationale": "half"},
        ).ok
    if "audit.seal" in settings.WEB3_PERIODIC_JOBS:  # the checkpoint the payout gate waits for
        run_job("audit.seal")
    # when two payout sweeps run together
    outs = run_together(task_sweeps.dispute_payout_sweep, task_sweeps.dispute_payout_sweep)
    # then each ruling paid once: half to the deliverer, half back
    assert sum(o["value"]["paid"] for o in outs) == 3
    assert available(bidder.actor_id) == 1_500_000
    assert (available(creator.actor_id), locked(creator.actor_id)) == (98_500_000, 0)
    assert list(problems()) == []
