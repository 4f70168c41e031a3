"""Each default alert rule fires on a constructed bad state and resolves once it is fixed, as staff
see it through web3.monitor.history and web3.monitor.listRules. The clock is driven by
time_machine; the monitor.evaluate job runs as beat runs it."""

from __future__ import annotations

import pytest
import time_machine
from django.db import transaction
from django.db.models import Max
from eth_account import Account

from market.audit import chain as chain_mod
from market.audit.log import audit_record
from market.models import Checkpoint
from market.services import escrow
from tests.monitor_support import alerts, default_rules, evaluate, job, kinds, rule  # noqa: F401
from tests.provider_server import ProviderServer
from tests.resource_helpers import fund, publish
from tests.task_support import START, Flow
from tests.task_support import fund as fund_amount

pytestmark = pytest.mark.usefixtures("default_rules")


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def provider_server():
    with ProviderServer() as server:
        yield server


@pytest.fixture
def market(clock, sign_in, provider_server):
    """Staff, a provider with a resource priced 0.10 a call, and a consumer with 50 USDC."""
    staff, provider, consumer = sign_in(roles=("staff",)), sign_in(), sign_in()
    fund(consumer.actor_id, 50)
    resource = publish(provider, provider_server, price="0.100000").result
    return staff, provider, consumer, resource


def issue(consumer, resource, *, max_cost="1", ttl_sec=600):
    return consumer.call(
        "web3.leases.issue", {"resourceId": resource["resourceId"], "maxCost": max_cost, "ttlSec": ttl_sec}
    )


@pytest.mark.keypath
def test_settlement_failure_rate_counts_the_markets_failures_not_refused_locks(market, clock, monkeypatch):
    staff, _, consumer, resource = market
    # given: one lease issued, and one refused for want of funds (the caller's failure)
    assert issue(consumer, resource).ok
    assert issue(consumer, resource, max_cost="1000").code == "E_INSUFFICIENT_FUNDS"
    evaluate()
    assert alerts(staff, "settlement-failure-rate") == []
    assert rule(staff, "settlement-failure-rate")["lastValue"] == 0

    # when: the escrow lock breaks unexpectedly for the next lease
    def broken_lock(**kwargs):
        raise RuntimeError("the ledger is broken")

    monkeypatch.setattr(escrow, "escrow_lock", broken_lock)
    failed = issue(consumer, resource)
    monkeypatch.undo()
    assert (failed.status, failed.code) == (500, "E_INTERNAL")
    evaluate()
    # then: 1 failure out of 3 money operations (the deposit, the lock, the failure) fires the P0
    # rule, naming the method
    [alert] = alerts(staff, "settlement-failure-rate")
    assert (alert["status"], alert["severity"], alert["value"], alert["threshold"]) == (
        "alert_active",
        "P0",
        0.333333,
        0.05,
    )
    assert alert["details"] == {"failed": 1, "transfers": 2, "operations": ["web3.leases.issue"]}
    assert alert["firedAt"] == START.isoformat().replace("+00:00", "Z")
    assert rule(staff, "settlement-failure-rate")["firingAlertId"] == alert["alertId"]
    # when: the 5-minute window has passed with no new failure
    clock.shift(301)
    evaluate()
    # then: it resolved, and the history keeps what it saw
    [alert] = alerts(staff, "settlement-failure-rate")
    assert alert["status"] == "alert_resolved" and alert["resolvedAt"] is not None
    assert kinds(alert) == [("fired", 0.333333), ("resolved", 0.0)]
    assert rule(staff, "settlement-failure-rate")["firingAlertId"] is None


@pytest.mark.keypath
def test_audit_unsealed_fires_after_two_minutes_and_the_seal_sweep_clears_it(clock, staff):
    # given: 101 audit events beyond the last checkpoint
    job("audit.seal")
    sealed = Checkpoint.objects.aggregate(n=Max("tree_size"))["n"] or 0
    for i in range(101):
        with transaction.atomic():
            audit_record(actor_id="system", action="test.note", object_type="task", object_id=f"t{i}")
    job("audit.sequence")  # as after their commits: the test's own transaction never commits
    # when / then: it holds, but only for 2 minutes does it fire
    evaluate()
    assert alerts(staff, "audit-unsealed") == []
    assert rule(staff, "audit-unsealed")["pendingSince"] is not None
    clock.shift(119)
    evaluate()
    assert alerts(staff, "audit-unsealed") == []
    clock.shift(1)
    evaluate()
    [alert] = alerts(staff, "audit-unsealed")
    assert (alert["status"], alert["severity"], alert["value"]) == ("alert_active", "P0", 101)
    assert alert["details"] == {"fromSeq": sealed, "oldestAgeSec": 120}
    # when: the seal sweep writes a checkpoint
    job("audit.seal")
    evaluate()
    # then
    [alert] = alerts(staff, "audit-unsealed")
    assert alert["status"] == "alert_resolved"
    assert rule(staff, "audit-unsealed")["pendingSince"] is None


@pytest.mark.keypath
def test_a_dispute_unresolved_for_24_hours_fires_and_the_ruling_clears_it(clock, sign_in):
    # given: a rejected result disputed by the deliverer
    staff, creator, bidder = sign_in(roles=("staff",)), sign_in(), sign_in()
    fund_amount(creator.actor_id, "100")
    flow = Flow(creator, bidder)
    flow.delivered()
    flow.review("reject")
    dispute_id = flow.dispute().result["disputeId"]
    clock.shift(23 * 3600)
    evaluate()
    assert alerts(staff, "dispute-unresolved-24h") == []
    # when: 25 hours pass without a ruling (sessions expire: everyone signs in again)
    clock.shift(2 * 3600)
    staff, arbitrator = sign_in(roles=("staff",)), sign_in(roles=("arbitrator",))
    evaluate()
    # then
    [alert] = alerts(staff, "dispute-unresolved-24h")
    assert (alert["status"], alert["severity"], alert["value"]) == ("alert_active", "P0", 25 * 3600)
    assert alert["details"] == {"disputes": [dispute_id]}
    # when: the arbitrator rules
    assert arbitrator.call(
        "web3.dispute.resolve",
        {"disputeId": dispute_id, "decision": "rule", "payeeShareBps": 5000, "rationale": "half"},
    ).ok
    evaluate()
    # then
    [alert] = alerts(staff, "dispute-unresolved-24h")
    assert alert["status"] == "alert_resolved"
    assert kinds(alert) == [("fired", 25 * 3600), ("resolved", 0)]


@pytest.mark.keypath
def test_over_20_settlements_past_due_for_two_minutes_fires_and_the_expiry_sweep_clears_it(market, clock):
    staff, _, consumer, resource = market
    # given: 21 one-minute leases, and the clock past their expiry with no sweep running
    leases = [issue(consumer, resource, ttl_sec=60).result for _ in range(21)]
    clock.shift(61)
    evaluate()
    assert rule(staff, "settlements-past-due")["lastValue"] == 21
    assert alerts(staff, "settlements-past-due") == []
    # when: it holds for two minutes
    clock.shift(120)
    evaluate()
    # then: one P1 alert naming (the first 20 of) the settlements
    [alert] = alerts(staff, "settlements-past-due")
    assert (alert["status"], alert["severity"], alert["value"]) == ("alert_active", "P1", 21)
    assert len(alert["details"]["settlements"]) == 20
    assert set(alert["details"]["settlements"]) < {lease["settlementId"] for lease in leases}
    # when: the leases.expire sweep runs
    job("leases.expire")
    evaluate()
    # then
    [alert] = alerts(staff, "settlements-past-due")
    assert alert["status"] == "alert_resolved"
    assert kinds(alert) == [("fired", 21), ("resolved", 0)]


@pytest.mark.keypath
def test_lease_invoke_failure_rate_fires_while_the_provider_is_down_and_successes_dilute_it(
    market, clock, provider_server
):
    staff, _, consumer, resource = market
    lease = issue(consumer, resource, max_cost="5").result

    def call():
        return consumer.call("web3.resources.invoke", {"leaseId": lease["leaseId"], "input": {"q": "x"}})

    # given: 8 calls served, then the provider goes down for 1 (E_UNAVAILABLE): 1 in 9 is 11%
    assert all(call().ok for _ in range(8))
    evaluate()
    assert alerts(staff, "lease-invoke-failure-rate") == []
    provider_server.state.status = 503
    assert call().code == "E_UNAVAILABLE"
    # when
    evaluate()
    # then: a P1 alert naming the failing resource
    [alert] = alerts(staff, "lease-invoke-failure-rate")
    assert (alert["status"], alert["severity"], alert["value"]) == ("alert_active", "P1", 0.111111)
    assert alert["details"] == {"failed": 1, "finished": 9, "resources": [resource["resourceId"]]}
    # when: the provider is back and one more call succeeds: 1 in 10 is not over 10%
    provider_server.state.status = 200
    assert call().ok
    evaluate()
    # then
    [alert] = alerts(staff, "lease-invoke-failure-rate")
    assert alert["status"] == "alert_resolved"
    assert kinds(alert) == [("fired", 0.111111), ("resolved", 0.1)]
    # and: a later outage (3 failed of 12 in the window) clears once the 5-minute window has passed
    provider_server.state.status = 503
    assert [call().code for _ in range(2)] == ["E_UNAVAILABLE"] * 2
    evaluate()
    latest = alerts(staff, "lease-invoke-failure-rate")[0]
    assert latest["status"] == "alert_active" and latest["value"] == 0.25
    clock.shift(301)
    evaluate()
    assert [a["status"] for a in alerts(staff, "lease-invoke-failure-rate")] == ["alert_resolved"] * 2


@pytest.fixture
def failing_chain(settings, monkeypatch):
    """A fresh anchor key on the process's test chain, whose node refuses every broadcast."""
    settings.WEB3_ANCHOR_RPC_URL = "tester://"
    settings.WEB3_ANCHOR_PRIVATE_KEY = Account.create().key.hex()
    chain = chain_mod.chain()
    monkeypatch.setattr(chain_mod, "chain", lambda: chain)

    def refuse(raw):
        raise ConnectionError("node went away")

    monkeypatch.setattr(chain.w3.eth, "send_raw_transaction", refuse)
    return chain, monkeypatch


@pytest.mark.keypath
def test_anchor_lag_fires_while_the_chain_refuses_and_clears_once_anchored(clock, staff, failing_chain):
    chain, patches = failing_chain
    # given: a checkpoint whose anchoring fails
    with transaction.atomic():
        audit_record(actor_id="system", action="test.note", object_type="task", object_id="t1")
    job("audit.seal")
    tree_size = Checkpoint.objects.get().tree_size
    assert job("audit.anchor") == {"anchored": 0, "failed": 1, "waiting": 1}
    # when: 15 minutes pass, then one second more
    clock.shift(900)
    evaluate()
    assert alerts(staff, "anchor-lag") == []
    clock.shift(1)
    evaluate()
    # then: a P1 alert naming the checkpoint and the error
    [alert] = alerts(staff, "anchor-lag")
    assert (alert["status"], alert["severity"], alert["value"]) == ("alert_active", "P1", 901)
    assert alert["details"] == {
        "waiting": 1,
        "checkpoints": [tree_size],
        "lastError": "chain call failed (ConnectionError)",
    }
    # when: the node recovers and the anchor sweep runs
    patches.undo()
    patches.setattr(chain_mod, "chain", lambda: chain)
    assert job("audit.anchor")["anchored"] == 1
    evaluate()
    # then
    [alert] = alerts(staff, "anchor-lag")
    assert alert["status"] == "alert_resolved"
    assert kinds(alert) == [("fired", 901), ("resolved", 0)]
