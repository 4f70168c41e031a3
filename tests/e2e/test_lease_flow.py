"""End to end with a real provider on loopback: publish -> discover via the index -> lease ->
invoke x N -> provider append -> revoke, and -> expire; exact balances after each step."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from market.audit.verify import problems
from market.hashing import object_hash
from market.models import Settlement
from tests.conftest import sign
from tests.provider_server import ProviderServer
from tests.resource_helpers import USDC, bal, fund, publish


@pytest.fixture
def provider_server():
    with ProviderServer() as server:
        yield server


def _report(provider, resource, *, when=None, signer=None):
    entry = {
        "resourceId": resource["resourceId"],
        "pricing": resource["pricing"],
        "tags": resource["tags"],
        "reportedAt": (when or timezone.now()).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return provider.call(
        "web3.index.report",
        {
            "resourceId": resource["resourceId"],
            "entry": entry,
            "signature": sign(signer or provider.account, object_hash(entry)),
        },
    )


def _settlement(lease):
    s = Settlement.objects.get(settlement_id=lease["settlementId"])
    return s.status, s.locked, s.released, s.refunded, s.remaining


@pytest.mark.keypath
def test_publish_discover_lease_invoke_append_revoke(sign_in, provider_server):
    provider, consumer = sign_in(), sign_in()
    fund(consumer.actor_id, 20)
    # publish: a model priced per call, and report it to the index
    resource = publish(
        provider,
        provider_server,
        kind="model",
        backend="openai-compat",
        unit="call",
        price="0.250000",
        accessToken="sk-provider",
        tags=["chat"],
    ).result
    assert _report(provider, resource).ok
    # discover via the index
    found = consumer.call("web3.index.list", {"kind": "model", "tag": "chat"}).result["items"]
    assert [i["resourceId"] for i in found] == [resource["resourceId"]]
    assert found[0]["health"] == "healthy" and found[0]["pricing"]["unitPrice"] == "0.250000"
    # lease 5.00
    lease = consumer.call(
        "web3.leases.issue", {"resourceId": resource["resourceId"], "maxCost": "5", "ttlSec": 3600}
    ).result
    assert bal(consumer.actor_id) == (15 * USDC, 5 * USDC)
    assert bal(provider.actor_id) == (0, 0)
    assert _settlement(lease) == ("settlement_locked", 5 * USDC, 0, 0, 5 * USDC)
    # invoke x 3: 0.25 each, released to the provider per call
    body = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}
    for n in range(1, 4):
        out = consumer.call("web3.resources.invoke", {"leaseId": lease["leaseId"], "input": body}).result
        assert out["usage"] == {"units": 1, "cost": "0.250000", "reportedUnits": 1, "billedUnits": 1}
        assert bal(provider.actor_id) == (n * 250_000, 0)
        assert bal(consumer.actor_id) == (15 * USDC, 5 * USDC - n * 250_000)
        assert _settlement(lease) == ("settlement_partially_released", 5 * USDC, n * 250_000, 0, 5 * USDC - n * 250_000)
    # the provider appends usage the proxy could not see: 2 calls
    entry = provider.call("web3.ledger.append", {"leaseId": lease["leaseId"], "units": 2, "usageRef": "batch-7"}).result
    assert entry["amount"] == "0.500000"
    assert bal(provider.actor_id) == (1_250_000, 0)
    assert bal(consumer.actor_id) == (15 * USDC, 3_750_000)
    # revoke: the rest goes back
    revoked = consumer.call("web3.leases.revoke", {"leaseId": lease["leaseId"]}).result
    assert (revoked["status"], revoked["spent"], revoked["remaining"]) == ("lease_revoked", "1.250000", "3.750000")
    assert bal(consumer.actor_id) == (20 * USDC - 1_250_000, 0)
    assert bal(provider.actor_id) == (1_250_000, 0)
    assert _settlement(lease) == ("settlement_refunded", 5 * USDC, 1_250_000, 3_750_000, 0)
    # the index reflects it
    rep = consumer.call("web3.index.reputation", {"actorId": provider.actor_id}).result
    assert (rep["settledLeases"], rep["invocations"], rep["failures"], rep["usageVolume"]) == (
        1,
        3,
        0,
        {"USDC": "1.250000"},
    )
    assert list(problems()) == []


@pytest.mark.keypath
def test_lease_invoke_then_expire_by_the_sweep(sign_in, provider_server):
    provider, consumer = sign_in(), sign_in()
    fund(consumer.actor_id, 3)
    resource = publish(provider, provider_server, price="0.100000").result
    lease = consumer.call(
        "web3.leases.issue", {"resourceId": resource["resourceId"], "maxCost": "1", "ttlSec": 60}
    ).result
    for _ in range(2):
        assert consumer.call("web3.resources.invoke", {"leaseId": lease["leaseId"], "input": {"q": "x"}}).ok
    assert bal(consumer.actor_id) == (2 * USDC, 800_000)
    assert bal(provider.actor_id) == (200_000, 0)
    # when: the clock passes expiresAt and the periodic jobs run (as beat would)
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        late = consumer.call("web3.resources.invoke", {"leaseId": lease["leaseId"], "input": {"q": "x"}})
        assert late.code == "E_EXPIRED"
        call_command("run_sweeps", stdout=open("/dev/null", "w"))  # noqa: SIM115
    # then
    got = consumer.call("web3.leases.get", {"leaseId": lease["leaseId"]}).result
    assert (got["status"], got["spent"]) == ("lease_expired", "0.200000")
    assert bal(consumer.actor_id) == (2_800_000, 0)
    assert bal(provider.actor_id) == (200_000, 0)
    assert _settlement(lease) == ("settlement_refunded", 1 * USDC, 200_000, 800_000, 0)
    assert list(problems()) == []


def test_index_report_checks_signer_and_clock(sign_in):
    provider, other = sign_in(), sign_in()
    resource = publish(provider, endpoint="https://m.example.net/v1").result
    assert _report(provider, resource, signer=other.account).code == "E_AUTH_REQUIRED"
    stale = _report(provider, resource, when=timezone.now() - timedelta(seconds=301))
    assert stale.code == "E_INVALID_ARGUMENT" and "entry.reportedAt" in stale.body["error"]["details"]["fields"]
    assert _report(other, resource).code == "E_FORBIDDEN"
    assert other.call("web3.index.health", {"resourceId": resource["resourceId"]}).result["status"] == "stale"
    assert _report(provider, resource).ok
    health = other.call("web3.index.health", {"resourceId": resource["resourceId"]}).result
    assert health["status"] == "healthy" and health["freshnessSec"] <= 1
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert other.call("web3.index.health", {"resourceId": resource["resourceId"]}).result["status"] == "stale"


def test_provider_faults_degrade_health_and_reputation(sign_in, provider_server):
    provider, consumer = sign_in(), sign_in()
    fund(consumer.actor_id, 5)
    resource = publish(provider, provider_server, price="0.100000").result
    assert _report(provider, resource).ok
    lease = consumer.call(
        "web3.leases.issue", {"resourceId": resource["resourceId"], "maxCost": "1", "ttlSec": 600}
    ).result
    call = lambda q: consumer.call("web3.resources.invoke", {"leaseId": lease["leaseId"], "input": q})  # noqa: E731
    assert call({"q": "a"}).ok
    assert call({"q": ""}).code == "E_INVALID_ARGUMENT"  # the consumer's mistake: not counted
    provider_server.state.status = 503
    assert [call({"q": "b"}).code for _ in range(2)] == ["E_UNAVAILABLE"] * 2
    health = consumer.call("web3.index.health", {"resourceId": resource["resourceId"]}).result
    assert (health["status"], health["recentInvocations"], health["recentFailures"]) == ("degraded", 3, 2)
    rep = consumer.call("web3.index.reputation", {"actorId": provider.actor_id}).result
    assert (rep["invocations"], rep["failures"], rep["failureRate"], rep["score"]) == (3, 2, 0.6667, 0)
    listed = consumer.call("web3.index.list", {}).result["items"]
    assert [(i["resourceId"], i["health"]) for i in listed] == [(resource["resourceId"], "degraded")]
    # and the health filter finds it by its stored standing
    by_health = {h: consumer.call("web3.index.list", {"health": h}).result["items"] for h in ("degraded", "healthy")}
    assert [i["resourceId"] for i in by_health["degraded"]] == [resource["resourceId"]] and not by_health["healthy"]
