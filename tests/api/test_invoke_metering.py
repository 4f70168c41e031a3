"""Token metering through web3.resources.invoke against the loopback provider: the reservation
covers the prompt as well as max_tokens, units and cost always agree, and a provider that reports
more than was reserved is paid the reservation while both figures are kept."""

from __future__ import annotations

import json

import pytest

from market.audit.verify import problems
from market.models import AuditEvent, Invocation, UsageEntry
from tests.provider_server import ProviderServer
from tests.resource_helpers import USDC, bal, fund, publish

# 1.000000 USDC per 1,000,000 tokens: one minor unit (0.000001) per token, so cost reads as units.
PRICE = "1.000000"


@pytest.fixture
def provider_server():
    with ProviderServer() as server:
        yield server


@pytest.fixture
def market(sign_in, provider_server):
    provider, consumer = sign_in(), sign_in()
    fund(consumer.actor_id, 10)
    r = publish(provider, provider_server, kind="model", backend="openai-compat", unit="token", price=PRICE).result
    lease = consumer.call("web3.leases.issue", {"resourceId": r["resourceId"], "maxCost": "1", "ttlSec": 600}).result
    return provider, consumer, lease, provider_server.state


def prompt_bound(body: dict) -> int:
    """The documented upper bound of a call's prompt tokens: the UTF-8 byte length of its input as
    compact JSON."""
    return len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())


def micro(minor: int) -> str:
    return f"{minor // USDC}.{minor % USDC:06d}"


def invoke(consumer, lease, body):
    return consumer.call("web3.resources.invoke", {"leaseId": lease["leaseId"], "input": body})


def usage_entries(consumer, lease) -> list[dict]:
    items = consumer.call("web3.ledger.list", {"leaseId": lease["leaseId"]}).result["items"]
    return [{k: e[k] for k in ("units", "reportedUnits", "billedUnits", "amount")} for e in items if e["source"]]


@pytest.mark.keypath
def test_units_and_cost_agree_when_the_prompt_counts_toward_the_total(market):
    provider, consumer, lease, state = market
    # given a provider that counts 1 prompt token and 2 completion tokens
    state.prompt_tokens, state.total_tokens = 1, 3
    # when a call asks for at most 2 tokens
    out = invoke(consumer, lease, {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}).result
    # then the 3 tokens are billed, and the cost is 3 tokens' worth
    assert out["usage"] == {"units": 3, "cost": "0.000003", "reportedUnits": 3, "billedUnits": 3}
    assert usage_entries(consumer, lease) == [{"units": 3, "reportedUnits": 3, "billedUnits": 3, "amount": "0.000003"}]
    assert bal(provider.actor_id) == (3, 0)
    assert bal(consumer.actor_id) == (9 * USDC, 1 * USDC - 3)
    assert list(problems()) == []


@pytest.mark.keypath
def test_the_reservation_is_the_prompt_bound_plus_max_tokens(market):
    provider, consumer, lease, state = market
    # given a provider that reports no usage at all (the reservation is billed then)
    state.total_tokens = None
    body = {"model": "m", "messages": [{"role": "user", "content": "héllo ✓"}], "max_tokens": 20}
    reserved = prompt_bound(body) + 20
    # when
    out = invoke(consumer, lease, body).result
    # then the reservation counted the prompt's UTF-8 bytes as well as max_tokens
    assert reserved == 81 + 20  # "é" and "✓" are 2 and 3 bytes
    assert out["usage"] == {"units": reserved, "cost": "0.000101", "reportedUnits": None, "billedUnits": reserved}
    assert Invocation.objects.get().reserved == reserved
    assert usage_entries(consumer, lease) == [
        {"units": reserved, "reportedUnits": None, "billedUnits": reserved, "amount": "0.000101"}
    ]
    assert bal(provider.actor_id) == (reserved, 0)


@pytest.mark.keypath
def test_a_provider_reporting_more_than_was_reserved_is_paid_the_reservation_and_both_figures_are_kept(market):
    provider, consumer, lease, state = market
    # given a provider that reports far more tokens than the call could use
    state.total_tokens = 5000
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    reserved = prompt_bound(body) + 2
    # when
    out = invoke(consumer, lease, body).result
    # then the reservation is billed, and the usage keeps what was reported beside it
    assert out["usage"] == {"units": reserved, "cost": micro(reserved), "reportedUnits": 5000, "billedUnits": reserved}
    assert out["lease"]["spent"] == micro(reserved)
    # and nothing on the ledger claims units that were not paid for
    assert usage_entries(consumer, lease) == [
        {"units": reserved, "reportedUnits": 5000, "billedUnits": reserved, "amount": micro(reserved)}
    ]
    entry = UsageEntry.objects.get()
    assert (entry.units, entry.reported_units, entry.amount) == (reserved, 5000, reserved)
    payload = json.loads(AuditEvent.objects.filter(action="lease.usage").get().payload)
    assert (payload["units"], payload["reportedUnits"]) == (reserved, 5000)
    assert bal(provider.actor_id) == (reserved, 0)
    assert bal(consumer.actor_id) == (9 * USDC, 1 * USDC - reserved)
    assert list(problems()) == []


def test_describe_says_how_the_reservation_is_made(anon):
    d = anon.call("web3.capabilities.describe", {"name": "web3.resources.invoke"}).result
    assert "UTF-8 byte length" in d["description"] and "max_tokens" in d["description"]
    usage = d["returns"]["properties"]["usage"]
    usage = usage["allOf"][0] if "allOf" in usage else usage
    assert {"units", "cost", "reportedUnits", "billedUnits"} <= set(usage["properties"])
