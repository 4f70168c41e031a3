"""web3.leases.issue|get|list|revoke, web3.ledger.append, the expiry sweep, and visibility."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from market.audit.verify import problems
from market.models import Lease, Settlement
from market.services.leases import lease_expire_sweep
from tests.resource_helpers import USDC, bal, counts, fund, publish

ENDPOINT = "https://search.example.net/api"


@pytest.fixture
def parties(sign_in):
    """(provider, consumer, stranger); the consumer holds 10 USDC."""
    provider, consumer, stranger = sign_in(), sign_in(), sign_in()
    fund(consumer.actor_id, 10)
    return provider, consumer, stranger


def _lease(provider, consumer, *, max_cost="2", ttl=600, price="0.010000", unit="query"):
    r = publish(provider, endpoint=ENDPOINT, price=price, unit=unit).result
    return r, consumer.call(
        "web3.leases.issue", {"resourceId": r["resourceId"], "maxCost": max_cost, "ttlSec": ttl}
    ).result


@pytest.mark.keypath
def test_issue_locks_the_budget_and_revoke_refunds_it(parties):
    provider, consumer, _ = parties
    # when
    r, lease = _lease(provider, consumer, max_cost="2.5")
    # then
    assert lease["status"] == "lease_active" and lease["resourceId"] == r["resourceId"]
    assert (lease["maxCost"], lease["spent"], lease["remaining"]) == ("2.500000", "0.000000", "2.500000")
    assert lease["consumerActorId"] == consumer.actor_id and lease["providerActorId"] == provider.actor_id
    assert bal(consumer.actor_id) == (7_500_000, 2_500_000)
    s = consumer.call("web3.settlement.status", {"settlementId": lease["settlementId"]}).result
    assert (s["status"], s["locked"], s["reference"]) == ("settlement_locked", "2.500000", f"lease:{lease['leaseId']}")
    # when
    out = provider.call("web3.leases.revoke", {"leaseId": lease["leaseId"]}).result
    # then
    assert out["status"] == "lease_revoked" and out["endedAt"]
    assert bal(consumer.actor_id) == (10 * USDC, 0)
    s = consumer.call("web3.settlement.status", {"settlementId": lease["settlementId"]}).result
    assert (s["status"], s["refunded"], s["remaining"]) == ("settlement_refunded", "2.500000", "0.000000")
    again = consumer.call("web3.leases.revoke", {"leaseId": lease["leaseId"]})
    assert again.status == 410 and again.code == "E_REVOKED"
    assert list(problems()) == []


@pytest.mark.parametrize(
    ("max_cost", "ttl", "code"),
    [
        ("10.000001", 600, "E_INSUFFICIENT_FUNDS"),
        ("0", 600, "E_INVALID_ARGUMENT"),
        ("1", 0, "E_INVALID_ARGUMENT"),
        ("1.0000001", 600, "E_INVALID_ARGUMENT"),
    ],
)
def test_refused_issue_creates_nothing(parties, max_cost, ttl, code):
    provider, consumer, _ = parties
    r = publish(provider, endpoint=ENDPOINT).result
    before = counts()
    # when
    res = consumer.call("web3.leases.issue", {"resourceId": r["resourceId"], "maxCost": max_cost, "ttlSec": ttl})
    # then
    assert res.code == code
    assert counts() == before
    assert bal(consumer.actor_id) == (10 * USDC, 0)


def test_provider_cannot_lease_its_own_resource(parties):
    provider, _, _ = parties
    fund(provider.actor_id, 1)
    r = publish(provider, endpoint=ENDPOINT).result
    res = provider.call("web3.leases.issue", {"resourceId": r["resourceId"], "maxCost": "1", "ttlSec": 60})
    assert res.status == 403 and res.code == "E_FORBIDDEN"
    assert Lease.objects.count() == 0


def test_a_third_actor_sees_nothing_of_a_lease(parties):
    provider, consumer, stranger = parties
    _, lease = _lease(provider, consumer)
    fund(stranger.actor_id, 1)
    before = counts()
    # when / then: every lease and settlement verb is exactly E_NOT_FOUND for the stranger
    calls = [
        ("web3.leases.get", {"leaseId": lease["leaseId"]}),
        ("web3.leases.revoke", {"leaseId": lease["leaseId"]}),
        ("web3.resources.invoke", {"leaseId": lease["leaseId"], "input": {"q": "x"}}),
        ("web3.ledger.append", {"leaseId": lease["leaseId"], "units": 1, "usageRef": "u1"}),
        ("web3.settlement.status", {"settlementId": lease["settlementId"]}),
    ]
    for name, params in calls:
        res = stranger.call(name, params)
        assert (res.status, res.code) == (404, "E_NOT_FOUND"), name
    assert stranger.call("web3.leases.list", {}).result["items"] == []
    assert stranger.call("web3.ledger.list", {"leaseId": lease["leaseId"]}).result["items"] == []
    assert counts() == before


def test_consumer_may_not_append_and_provider_may_not_invoke(parties):
    provider, consumer, _ = parties
    _, lease = _lease(provider, consumer)
    before = counts()
    res = consumer.call("web3.ledger.append", {"leaseId": lease["leaseId"], "units": 5, "usageRef": "forged"})
    assert (res.status, res.code) == (403, "E_FORBIDDEN")
    res = provider.call("web3.resources.invoke", {"leaseId": lease["leaseId"], "input": {"q": "x"}})
    assert (res.status, res.code) == (403, "E_FORBIDDEN")
    assert counts() == before
    assert bal(consumer.actor_id) == (8 * USDC, 2 * USDC)


@pytest.mark.keypath
def test_provider_append_charges_the_lease_price(parties):
    provider, consumer, _ = parties
    _, lease = _lease(provider, consumer, max_cost="1", price="0.300000", unit="call")
    # when
    e1 = provider.call("web3.ledger.append", {"leaseId": lease["leaseId"], "units": 2, "usageRef": "job-1"}).result
    replay = provider.call("web3.ledger.append", {"leaseId": lease["leaseId"], "units": 2, "usageRef": "job-1"}).result
    clash = provider.call("web3.ledger.append", {"leaseId": lease["leaseId"], "units": 3, "usageRef": "job-1"})
    # then
    assert (e1["source"], e1["units"], e1["amount"], e1["leaseStatus"]) == ("provider", 2, "0.600000", "lease_active")
    assert replay == e1
    assert clash.status == 409 and clash.code == "E_CONFLICT"
    assert bal(provider.actor_id) == (600_000, 0)
    assert bal(consumer.actor_id) == (9 * USDC, 400_000)
    # when: beyond the remaining budget -> charges what remains and exhausts the lease
    e2 = provider.call("web3.ledger.append", {"leaseId": lease["leaseId"], "units": 5, "usageRef": "job-2"}).result
    # then
    assert (e2["amount"], e2["leaseStatus"]) == ("0.400000", "lease_exhausted")
    assert bal(provider.actor_id) == (1 * USDC, 0)
    assert bal(consumer.actor_id) == (9 * USDC, 0)
    got = consumer.call("web3.leases.get", {"leaseId": lease["leaseId"]}).result
    assert (got["status"], got["spent"], got["remaining"]) == ("lease_exhausted", "1.000000", "0.000000")
    s = Settlement.objects.get(settlement_id=lease["settlementId"])
    assert (s.status, s.released, s.refunded) == ("settlement_released", 1 * USDC, 0)
    after = provider.call("web3.ledger.append", {"leaseId": lease["leaseId"], "units": 1, "usageRef": "job-3"})
    assert after.code == "E_REVOKED"
    entries = consumer.call("web3.ledger.list", {"leaseId": lease["leaseId"]}).result["items"]
    usage = [(e["source"], e["units"], e["usageRef"], e["amount"]) for e in entries if e["source"]]
    # (the 0.40 left pays for 1 of the 5 calls reported: the entry bills 1)
    assert usage == [("provider", 1, "job-2", "0.400000"), ("provider", 2, "job-1", "0.600000")]
    assert list(problems()) == []


def test_provider_usage_beyond_the_budget_is_billed_only_for_the_units_paid_for(parties):
    provider, consumer, _ = parties
    # given a lease with 1.00 left at 0.30 a call
    _, lease = _lease(provider, consumer, max_cost="1", price="0.300000", unit="call")
    # when the provider reports 5 calls (1.50)
    entry = provider.call("web3.ledger.append", {"leaseId": lease["leaseId"], "units": 5, "usageRef": "big"}).result
    # then what remains is charged and the lease is exhausted, but the entry claims only the 3 calls
    # that 1.00 pays for, beside the 5 reported
    assert (entry["amount"], entry["leaseStatus"]) == ("1.000000", "lease_exhausted")
    assert (entry["units"], entry["billedUnits"], entry["reportedUnits"]) == (3, 3, 5)
    listed = consumer.call("web3.ledger.list", {"leaseId": lease["leaseId"]}).result["items"]
    assert [(e["units"], e["billedUnits"], e["reportedUnits"], e["amount"]) for e in listed if e["source"]] == [
        (3, 3, 5, "1.000000")
    ]
    # and the same report again is the same entry (the reported units identify it)
    again = provider.call("web3.ledger.append", {"leaseId": lease["leaseId"], "units": 5, "usageRef": "big"})
    assert again.result == entry
    assert (
        provider.call("web3.ledger.append", {"leaseId": lease["leaseId"], "units": 3, "usageRef": "big"}).code
        == "E_CONFLICT"
    )
    assert bal(provider.actor_id) == (1 * USDC, 0)
    assert list(problems()) == []


def test_expired_by_the_clock_before_any_sweep(parties):
    provider, consumer, _ = parties
    _, lease = _lease(provider, consumer, ttl=60)
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        for name, who, params in [
            ("web3.leases.revoke", consumer, {"leaseId": lease["leaseId"]}),
            ("web3.resources.invoke", consumer, {"leaseId": lease["leaseId"], "input": {"q": "x"}}),
            ("web3.ledger.append", provider, {"leaseId": lease["leaseId"], "units": 1, "usageRef": "late"}),
        ]:
            res = who.call(name, params)
            assert (res.status, res.code) == (410, "E_EXPIRED"), name
        assert consumer.call("web3.leases.get", {"leaseId": lease["leaseId"]}).result["status"] == "lease_active"


@pytest.mark.keypath
def test_sweep_expires_and_settles_once(parties):
    provider, consumer, _ = parties
    _, short = _lease(provider, consumer, ttl=60, price="0.250000", unit="call")
    _, long = _lease(provider, consumer, ttl=3600)
    assert provider.call("web3.ledger.append", {"leaseId": short["leaseId"], "units": 1, "usageRef": "r1"}).ok
    # when
    with time_machine.travel(timezone.now() + timedelta(seconds=120)):
        first = lease_expire_sweep()
        second = lease_expire_sweep()
    # then
    assert first == {"expired": 1} and second == {"expired": 0}
    got = consumer.call("web3.leases.get", {"leaseId": short["leaseId"]}).result
    assert (got["status"], got["spent"]) == ("lease_expired", "0.250000")
    assert consumer.call("web3.leases.get", {"leaseId": long["leaseId"]}).result["status"] == "lease_active"
    s = consumer.call("web3.settlement.status", {"settlementId": short["settlementId"]}).result
    assert (s["status"], s["released"], s["refunded"]) == ("settlement_refunded", "0.250000", "1.750000")
    assert bal(consumer.actor_id) == (10 * USDC - 250_000 - 2 * USDC, 2 * USDC)
    assert bal(provider.actor_id) == (250_000, 0)
    assert list(problems()) == []


def test_list_by_role_and_status(parties, sign_in):
    provider, consumer, _ = parties
    _, a = _lease(provider, consumer)
    _, b = _lease(provider, consumer)
    assert consumer.call("web3.leases.revoke", {"leaseId": b["leaseId"]}).ok
    ids = lambda res: [i["leaseId"] for i in res.result["items"]]  # noqa: E731
    assert ids(consumer.call("web3.leases.list", {})) == [b["leaseId"], a["leaseId"]]
    assert ids(provider.call("web3.leases.list", {"role": "provider"})) == [b["leaseId"], a["leaseId"]]
    assert ids(provider.call("web3.leases.list", {"role": "consumer"})) == []
    assert ids(consumer.call("web3.leases.list", {"status": "lease_active"})) == [a["leaseId"]]
    assert ids(consumer.get("web3.leases.list", {"status": "lease_revoked"})) == [b["leaseId"]]


def test_status_summary_reports_resources_and_overdue_leases(parties):
    provider, consumer, _ = parties
    _lease(provider, consumer, ttl=60)
    part = consumer.call("web3.status.summary").result["parts"]["resources"]
    assert part == {"status": "ok", "message": "1 published resources, 1 active leases"}
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        part = consumer.call("web3.status.summary").result["parts"]["resources"]
        assert part["status"] == "degraded" and "1 leases overdue" in part["message"]
        lease_expire_sweep()
        assert consumer.call("web3.status.summary").result["parts"]["resources"]["status"] == "ok"
