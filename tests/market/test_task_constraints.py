"""The database refuses what the services refuse: budgets and prices, one live bid per bidder, one
active award per task, one live dispute per receipt, statuses in their choices."""

from __future__ import annotations

import pytest
import time_machine
from django.db import IntegrityError, transaction

from market.ids import new_id
from market.models import Dispute, TaskAward, TaskBid, TaskOrder, TaskReceipt
from market.services import disputes, results, tasks
from tests.task_support import START, fund

CREATOR, BIDDER, RIVAL = "0x" + "c1" * 20, "0x" + "b1" * 20, "0x" + "b2" * 20


@pytest.fixture
def task(db):
    with time_machine.travel(START, tick=False):
        return tasks.task_publish(
            actor_id=CREATOR, title="t", requirements="r", budget=10_000_000, currency="USDC", ttl_sec=3600
        )


def refused(fn):
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_budget_positive_and_status_in_choices(task):
    refused(lambda: TaskOrder.objects.filter(pk=task.pk).update(budget=0))
    refused(lambda: TaskOrder.objects.filter(pk=task.pk).update(status="task_weird"))
    refused(lambda: TaskOrder.objects.filter(pk=task.pk).update(review_window_sec=0))


def test_bid_price_positive_within_budget_and_one_live_bid(task):
    bid = tasks.bid_place(task_id=task.task_id, actor_id=BIDDER, price=1_000_000, eta_sec=60)
    refused(lambda: TaskBid.objects.filter(pk=bid.pk).update(price=0))
    refused(lambda: TaskBid.objects.filter(pk=bid.pk).update(price=10_000_001))
    refused(
        lambda: TaskBid.objects.create(
            bid_id=new_id("bid"),
            task=task,
            bidder_actor_id=BIDDER,
            price=1,
            task_budget=task.budget,
            eta_sec=1,
            hash="h",
        )
    )
    # a withdrawn bid does not count
    tasks.bid_withdraw(bid_id=bid.bid_id, actor_id=BIDDER)
    TaskBid.objects.create(
        bid_id=new_id("bid"), task=task, bidder_actor_id=BIDDER, price=1, task_budget=task.budget, eta_sec=1, hash="h"
    )


def test_one_active_award_per_task(task):
    fund(CREATOR, "100")
    bid = tasks.bid_place(task_id=task.task_id, actor_id=BIDDER, price=1_000_000, eta_sec=60)
    rival = tasks.bid_place(task_id=task.task_id, actor_id=RIVAL, price=2_000_000, eta_sec=60)
    award = tasks.task_award(task_id=task.task_id, bid_id=bid.bid_id, actor_id=CREATOR)
    refused(
        lambda: TaskAward.objects.create(
            award_id=new_id("awd"), task=task, bid=rival, settlement=award.settlement, deliver_by=award.deliver_by
        )
    )


def test_one_live_dispute_per_receipt(task):
    fund(CREATOR, "100")
    with time_machine.travel(START, tick=False):
        bid = tasks.bid_place(task_id=task.task_id, actor_id=BIDDER, price=1_000_000, eta_sec=60)
        tasks.task_award(task_id=task.task_id, bid_id=bid.bid_id, actor_id=CREATOR)
        result = results.result_submit(task_id=task.task_id, actor_id=BIDDER, summary="s", artifacts=[])
        results.result_review(result_id=result.result_id, actor_id=CREATOR, decision="reject")
        dispute, merged = disputes.dispute_open(task_id=task.task_id, actor_id=BIDDER, reason="r")
    assert merged is False
    receipt = TaskReceipt.objects.get(result=result)
    refused(
        lambda: Dispute.objects.create(
            dispute_id=new_id("dsp"),
            task=task,
            receipt=receipt,
            initiator_actor_id=BIDDER,
            creator_actor_id=CREATOR,
            deliverer_actor_id=BIDDER,
            reason="again",
        )
    )
    refused(lambda: Dispute.objects.filter(pk=dispute.pk).update(payee_share_bps=10001))
    refused(lambda: Dispute.objects.filter(pk=dispute.pk).update(round=3))
    refused(lambda: TaskReceipt.objects.filter(pk=receipt.pk).update(status="receipt_lost"))
