"""An award nobody delivers: past deliverBy a result is E_EXPIRED by the clock, and
WEB3_DELIVERY_GRACE_SEC later the tasks.undelivered sweep revokes the award, refunds the creator and
reopens the task (or expires it, once its expiresAt has passed). Exact balances; twice changes nothing."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from market.audit.verify import problems
from market.models import AuditEvent, Settlement, TaskAward, Transfer
from market.services import task_sweeps
from tests.market.test_task_races import fresh, run_together
from tests.task_support import START, Flow, available, fund, locked

pytestmark = pytest.mark.keypath

DAY = 86400


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def flow(clock, sign_in):
    creator, bidder = sign_in(), sign_in()
    fund(creator.actor_id, "100")
    return Flow(creator, bidder)  # the bid: 8.00, due 3600 s after the award


def sweeps() -> str:
    out = io.StringIO()
    call_command("run_sweeps", stdout=out)
    return out.getvalue()


def money_and_audit() -> tuple:
    revokes = AuditEvent.objects.filter(action="award.revoke").count()
    return Transfer.objects.count(), revokes, list(Settlement.objects.values_list("status", "refunded"))


def test_a_result_after_deliver_by_is_expired_before_any_sweep(flow, clock):
    # given an award due in an hour
    flow.publish().place_bid().award_bid()
    # when the bidder submits a second after deliverBy, before any sweep has run
    clock.shift(3601)
    late = flow.bidder.call(
        "web3.market.submitResult", {"taskId": flow.task["taskId"], "summary": "late", "artifacts": []}
    )
    # then it is refused by the clock, and the award still holds the money
    assert late.code == "E_EXPIRED" and late.body["error"]["details"]["deliverBy"]
    assert flow.get_task()["award"]["status"] == "award_active"
    assert (available(flow.creator.actor_id), locked(flow.creator.actor_id)) == (92_000_000, 8_000_000)


def test_an_undelivered_award_is_revoked_refunded_and_its_task_reopened(flow, clock, sign_in):
    # given an award of a task open for a day, not delivered
    flow.publish(ttlSec=DAY).place_bid().award_bid()
    assert (available(flow.creator.actor_id), locked(flow.creator.actor_id)) == (92_000_000, 8_000_000)
    # when the sweeps run up to the end of the grace (deliverBy + 3600 s), nothing moves
    clock.shift(3600 + settings.WEB3_DELIVERY_GRACE_SEC)
    sweeps()
    assert flow.get_task()["status"] == "task_awarded"
    assert locked(flow.creator.actor_id) == 8_000_000
    # when they run after it
    clock.shift(1)
    report = sweeps()
    # then the award is revoked, the price is back with the creator, and the task takes bids again
    assert 'tasks.undelivered: ok {"reopened": 1, "expired": 0}' in report
    task = flow.get_task()
    assert (task["status"], task["award"]["status"]) == ("task_open", "award_revoked")
    assert (available(flow.creator.actor_id), locked(flow.creator.actor_id)) == (100_000_000, 0)
    assert (available(flow.bidder.actor_id), locked(flow.bidder.actor_id)) == (0, 0)
    settlement = Settlement.objects.get(settlement_id=flow.award["settlementId"])
    assert (settlement.status, settlement.released, settlement.refunded) == ("settlement_refunded", 0, 8_000_000)
    [event] = AuditEvent.objects.filter(action="award.revoke", object_id=flow.task["taskId"])
    payload = json.loads(event.payload)
    assert datetime.fromisoformat(payload.pop("deliverBy")) == datetime.fromisoformat(flow.award["deliverBy"])
    assert (event.actor_id, payload) == (
        "system",
        {
            "status": "task_open",
            "awardId": flow.award["awardId"],
            "awardStatus": "award_revoked",
            "reason": "not delivered",
            "settlementId": flow.award["settlementId"],
            "refunded": "8.000000",
            "currency": "USDC",
        },
    )
    # and running again changes nothing
    before = money_and_audit()
    assert 'tasks.undelivered: ok {"reopened": 0, "expired": 0}' in sweeps()
    assert money_and_audit() == before
    # and the late bidder's result is refused, while another bidder can be awarded
    late = flow.bidder.call(
        "web3.market.submitResult", {"taskId": flow.task["taskId"], "summary": "late", "artifacts": []}
    )
    assert late.code == "E_CONFLICT"
    second = Flow(flow.creator, sign_in(), task=flow.task, price="5").place_bid().award_bid()
    assert second.award["status"] == "award_active"
    assert (available(flow.creator.actor_id), locked(flow.creator.actor_id)) == (95_000_000, 5_000_000)
    assert list(problems()) == []


def test_an_undelivered_award_whose_task_has_expired_expires_the_task(flow, clock):
    # given an award of a task whose expiresAt (2 h) passes before the grace ends
    flow.publish().place_bid().award_bid()
    # when the grace has passed
    clock.shift(3600 + settings.WEB3_DELIVERY_GRACE_SEC + 1)
    assert 'tasks.undelivered: ok {"reopened": 0, "expired": 1}' in sweeps()
    # then the award is revoked, the creator refunded, and the task expired
    task = flow.get_task()
    assert (task["status"], task["award"]["status"]) == ("task_expired", "award_revoked")
    assert (available(flow.creator.actor_id), locked(flow.creator.actor_id)) == (100_000_000, 0)
    assert available(flow.bidder.actor_id) == 0
    before = money_and_audit()
    sweeps()
    assert money_and_audit() == before
    assert list(problems()) == []


def test_a_delivered_award_is_left_alone(flow, clock):
    # given a result delivered in time, not reviewed (its review window is a day)
    flow.review_sec = DAY
    flow.publish(ttlSec=DAY).place_bid().award_bid().submit()
    # when the grace after deliverBy has passed
    clock.shift(3600 + settings.WEB3_DELIVERY_GRACE_SEC + 1)
    assert 'tasks.undelivered: ok {"reopened": 0, "expired": 0}' in sweeps()
    # then the award stands and its money waits for the review
    assert flow.get_task()["award"]["status"] == "award_active"
    assert locked(flow.creator.actor_id) == 8_000_000


def test_the_grace_is_a_setting(flow, clock, settings):
    settings.WEB3_DELIVERY_GRACE_SEC = 60
    flow.publish(ttlSec=DAY).place_bid().award_bid()
    clock.shift(3600 + 61)
    assert task_sweeps.award_undelivered_sweep() == {"reopened": 1, "expired": 0}
    assert available(flow.creator.actor_id) == 100_000_000


def test_the_sweep_is_a_periodic_money_job():
    assert settings.WEB3_PERIODIC_JOBS["tasks.undelivered"] == "market.services.task_sweeps.award_undelivered_sweep"
    assert "tasks.undelivered" in settings.WEB3_MONEY_JOBS
    assert {
        "task": "openclaw.periodic.run_periodic_job_task",
        "args": ("tasks.undelivered",),
    }.items() <= settings.CELERY_BEAT_SCHEDULE["periodic:tasks.undelivered"].items()


def test_describe_says_what_becomes_of_an_undelivered_award(anon):
    for name in ("web3.market.awardBid", "web3.market.cancelTask", "web3.market.submitResult"):
        text = anon.call("web3.capabilities.describe", {"name": name}).result["description"]
        assert "WEB3_DELIVERY_GRACE_SEC" in text and "task_open" in text and "task_expired" in text, name


@pytest.mark.concurrency
@pytest.mark.postgres
def test_two_sweeps_at_once_revoke_each_award_once(transactional_db, sign_in):
    # given six undelivered awards past their grace
    creator, bidder = sign_in(), sign_in()
    fund(creator.actor_id, "100")
    flows = [Flow(creator, bidder, price="1").publish(ttlSec=DAY).place_bid().award_bid() for _ in range(6)]
    TaskAward.objects.update(deliver_by=timezone.now() - timedelta(seconds=settings.WEB3_DELIVERY_GRACE_SEC + 1))
    # when two sweeps run together, and the creator cancels one of the tasks meanwhile
    outs = run_together(
        task_sweeps.award_undelivered_sweep,
        task_sweeps.award_undelivered_sweep,
        lambda: fresh(creator).call("web3.market.cancelTask", {"taskId": flows[0].task["taskId"]}),
    )
    # then each award was revoked once, by a sweep or by the cancel, and each price refunded once
    assert "error" not in outs[0] and "error" not in outs[1], outs
    assert outs[2]["value"].result["status"] == "task_cancelled"
    swept = outs[0]["value"]["reopened"] + outs[1]["value"]["reopened"]
    assert swept in (5, 6) and AuditEvent.objects.filter(action="award.revoke").count() == swept
    assert TaskAward.objects.filter(status="award_revoked").count() == 6
    assert Transfer.objects.filter(code=Transfer.Code.ESCROW_REFUND).count() == 6
    assert (available(creator.actor_id), locked(creator.actor_id)) == (100_000_000, 0)
    assert list(problems()) == []
