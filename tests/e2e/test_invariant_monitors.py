"""The invariant and stuck-state monitors behind the P0 invariant-violation rule: each broken state
is named in the alert's details, and the alert resolves once the state is put right (by the sweep
that should have run, or by putting the value back)."""

from __future__ import annotations

import pytest
import time_machine
from django.db import transaction
from django.db.models import F

from market.audit.log import audit_record
from market.models import Account, AccountHour, Settlement, TaskBid
from market.services import ledger
from tests.monitor_support import alerts, default_rules, evaluate, job, kinds  # noqa: F401
from tests.provider_server import ProviderServer
from tests.resource_helpers import fund, publish
from tests.task_support import START, Flow
from tests.task_support import fund as fund_amount

pytestmark = [pytest.mark.usefixtures("default_rules"), pytest.mark.keypath]
RULE = "invariant-violation"


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def lease(clock, sign_in):
    """A one-minute lease of 1 USDC (no provider is called)."""
    provider, consumer = sign_in(), sign_in()
    fund(consumer.actor_id, 5)
    with ProviderServer() as server:
        resource = publish(provider, server).result
    issued = consumer.call(
        "web3.leases.issue", {"resourceId": resource["resourceId"], "maxCost": "1", "ttlSec": 60}
    ).result
    job("audit.seal")  # as the sweeps would: only the state under test is left behind
    return issued


def violations(alert: dict) -> list[tuple[str, str, list[str], int]]:
    return [(v["monitor"], v["objectType"], v["objects"], v["count"]) for v in alert["details"]["violations"]]


def assert_fires_then_resolves(staff, fix, expected) -> None:
    """The rule fires naming `expected`, and resolves after `fix()`."""
    evaluate()
    [alert] = alerts(staff, RULE)
    assert (alert["status"], alert["severity"]) == ("alert_active", "P0")
    assert violations(alert) == expected
    fix()
    evaluate()
    [alert] = alerts(staff, RULE)
    assert alert["status"] == "alert_resolved"
    assert kinds(alert)[-1] == ("resolved", 0)


def test_a_healthy_market_has_no_violation(lease, staff):
    evaluate()
    assert alerts(staff, RULE) == []
    metrics = {m["name"]: m for m in staff.call("web3.monitor.metrics").result["metrics"]}
    assert metrics["invariant_violations"]["value"] == 0


def test_an_open_bid_on_a_task_no_longer_open(clock, sign_in):
    # given: a task awarded to one of two bidders; the other's bid is put back to submitted
    staff, creator, winner, loser = sign_in(roles=("staff",)), sign_in(), sign_in(), sign_in()
    fund_amount(creator.actor_id, "100")
    flow = Flow(creator, winner).publish().place_bid()
    lost = loser.call("web3.market.placeBid", {"taskId": flow.task["taskId"], "price": "9", "etaSec": 60}).result
    flow.award_bid()
    bids = TaskBid.objects.filter(bid_id=lost["bidId"])
    assert bids.get().status == TaskBid.Status.REJECTED
    bids.update(status=TaskBid.Status.SUBMITTED)
    # when / then
    assert_fires_then_resolves(
        staff,
        lambda: bids.update(status=TaskBid.Status.REJECTED),
        [("open_bid_on_closed_task", "bid", [lost["bidId"]], 1)],
    )


def test_a_lease_active_two_sweep_intervals_past_expiry_until_the_expiry_sweep(lease, clock, staff):
    # given: the lease's expiry plus two sweep intervals (60 s each) has not quite passed
    clock.shift(60 + 120)
    evaluate()
    assert alerts(staff, RULE) == []
    # when: one second more, and still no sweep
    clock.shift(1)
    # then: named; the leases.expire sweep ends it
    assert_fires_then_resolves(
        staff, lambda: job("leases.expire"), [("lease_past_expiry", "lease", [lease["leaseId"]], 1)]
    )


def test_a_receipt_not_paid_out_past_its_payout_time_until_the_window_sweep(clock, sign_in, settings):
    # given: a rejected result, its dispute window over two sweep intervals ago, no sweep run
    staff, creator, bidder = sign_in(roles=("staff",)), sign_in(), sign_in()
    fund_amount(creator.actor_id, "100")
    flow = Flow(creator, bidder)
    flow.delivered()
    receipt = flow.review("reject").result["receipt"]
    job("audit.seal")
    clock.shift(settings.WEB3_DISPUTE_WINDOW_SEC + 121)
    # when / then: named; the tasks.dispute_window sweep refunds it
    assert_fires_then_resolves(
        staff, lambda: job("tasks.dispute_window"), [("receipt_past_payout", "receipt", [receipt["receiptId"]], 1)]
    )


def test_an_award_undelivered_past_the_grace_and_two_sweep_intervals_until_the_undelivered_sweep(
    clock, sign_in, settings
):
    # given: an awarded task with no result, and no sweep run since
    staff, creator, bidder = sign_in(roles=("staff",)), sign_in(), sign_in()
    fund_amount(creator.actor_id, "100")
    flow = Flow(creator, bidder, eta=600).publish().place_bid().award_bid()
    award_id = flow.award["awardId"]
    job("audit.seal")
    # when: deliverBy, the delivery grace and two sweep intervals (60 s each) have not quite passed
    clock.shift(600 + settings.WEB3_DELIVERY_GRACE_SEC + 120)
    evaluate()
    assert alerts(staff, RULE) == []
    # then, one second more: the award is named; the tasks.undelivered sweep revokes it
    clock.shift(1)
    assert_fires_then_resolves(
        staff, lambda: job("tasks.undelivered"), [("award_past_delivery", "award", [award_id], 1)]
    )


def test_a_settlement_whose_amounts_differ_from_its_transfers(lease, staff):
    # given: the lease's settlement says it locked one minor unit more than its lock transfer
    rows = Settlement.objects.filter(settlement_id=lease["settlementId"])
    rows.update(locked=F("locked") + 1)
    # when / then: named; putting the value back fixes it
    assert_fires_then_resolves(
        staff,
        lambda: rows.update(locked=F("locked") - 1),
        [("settlement_matches_transfers", "settlement", [lease["settlementId"]], 1)],
    )


def test_an_account_whose_hourly_totals_differ_from_its_transfers(lease, staff):
    # given: a settled transfer, and its payee's hourly income one minor unit above it
    ledger.transfer(
        from_actor_id=lease["consumerActorId"],
        to_actor_id=lease["providerActorId"],
        amount=250_000,
        currency="USDC",
        by_actor_id=lease["consumerActorId"],
    )
    payee = Account.objects.get(actor_id=lease["providerActorId"], currency="USDC")
    [hour] = AccountHour.objects.filter(account=payee)
    assert (hour.income, hour.expense, hour.count) == (250_000, 0, 1)
    rows = AccountHour.objects.filter(pk=hour.pk)
    rows.update(income=F("income") + 1)
    # when / then: the account is named; putting the value back fixes it
    assert_fires_then_resolves(
        staff,
        lambda: rows.update(income=F("income") - 1),
        [("account_hours_match_transfers", "account", [str(payee.pk)], 1)],
    )


def test_a_currency_whose_balances_do_not_sum_to_zero(lease, staff):
    # given: one account credited a minor unit with no transfer behind it
    settlement = Settlement.objects.get(settlement_id=lease["settlementId"])
    account = Account.objects.filter(pk=settlement.payee_account_id)
    account.update(credits_posted=F("credits_posted") + 1)
    # when / then: the currency is named; putting the value back fixes it
    assert_fires_then_resolves(
        staff,
        lambda: account.update(credits_posted=F("credits_posted") - 1),
        [("ledger_sum_zero", "currency", ["USDC"], 1)],
    )


def test_an_event_unsealed_past_two_checkpoint_intervals_until_the_seal_sweep(clock, staff):
    # given: one audit event nobody sealed for two intervals and a second
    job("audit.seal")
    with transaction.atomic():
        event = audit_record(actor_id="system", action="test.note", object_type="task", object_id="t1")
    job("audit.sequence")  # as after its commit: it has its position, and no checkpoint
    clock.shift(121)
    # when / then: named; the audit.seal sweep seals it
    assert_fires_then_resolves(
        staff, lambda: job("audit.seal"), [("event_unsealed", "audit_event", [event.event_id], 1)]
    )


def test_an_event_waiting_for_its_position_is_named_and_its_own_p0_fires_until_the_sequencer_runs(clock, staff):
    # given: a committed audit event no sequencer has run after (not after its commit, nor the job)
    job("audit.seal")
    with transaction.atomic():
        event = audit_record(actor_id="system", action="test.note", object_type="task", object_id="t1")
    assert event.seq is None and len(event.content_hash) == 64
    clock.shift(121)
    # when
    evaluate()
    # then: the sequencer's own rule fires, P0, with how many wait
    [waiting] = alerts(staff, "audit-unsequenced")
    assert (waiting["status"], waiting["severity"]) == ("alert_active", "P0")
    assert waiting["details"]["waiting"] >= 1  # this event (and the alerts' own events, just written)
    # and the invariant monitor names the event; the seal (which runs the sequencer first) puts it right
    assert_fires_then_resolves(
        staff, lambda: job("audit.seal"), [("event_unsequenced", "audit_event", [event.event_id], 1)]
    )
    event.refresh_from_db()
    assert event.seq is not None
    assert alerts(staff, "audit-unsequenced")[0]["status"] == "alert_resolved"


def test_each_broken_invariant_is_an_alert_of_its_own(lease, clock, staff):
    # given: a stuck lease fires the rule
    clock.shift(181)
    evaluate()
    [stuck] = alerts(staff, RULE)
    assert (stuck["key"], stuck["status"]) == ("lease_past_expiry", "alert_active")
    # when: the expiry sweep fixes it, and a different break appears
    rows = Settlement.objects.filter(settlement_id=lease["settlementId"])
    job("leases.expire")
    rows.update(refunded=F("refunded") - 1, released=F("released") + 1)
    evaluate()
    # then: the stuck-lease alert resolved, and the new break is a new alert naming its settlement
    new, old = alerts(staff, RULE)
    assert (old["alertId"], old["status"], kinds(old)) == (
        stuck["alertId"],
        "alert_resolved",
        [("fired", 1), ("resolved", 0)],
    )
    assert (new["key"], new["status"], new["severity"]) == ("settlement_matches_transfers", "alert_active", "P0")
    assert violations(new) == [("settlement_matches_transfers", "settlement", [lease["settlementId"]], 1)]
    rule = next(r for r in staff.call("web3.monitor.listRules").result["items"] if r["name"] == RULE)
    assert rule["firingAlertIds"] == [new["alertId"]]
    # when: a second kind breaks while the first still holds
    Account.objects.filter(pk=Account.objects.order_by("pk").first().pk).update(credits_posted=F("credits_posted") + 1)
    evaluate()
    # then: two alerts fire at once, each for its own monitor; the first is deduplicated
    firing = alerts(staff, RULE, status="alert_active")
    assert sorted(a["key"] for a in firing) == ["ledger_sum_zero", "settlement_matches_transfers"]
    assert next(a for a in firing if a["key"] == "settlement_matches_transfers")["evaluations"] == 2
    # when: both are put right
    rows.update(refunded=F("refunded") + 1, released=F("released") - 1)
    Account.objects.filter(pk=Account.objects.order_by("pk").first().pk).update(credits_posted=F("credits_posted") - 1)
    evaluate()
    assert alerts(staff, RULE, status="alert_active") == []
