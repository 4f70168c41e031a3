"""An owner's agent works in prepaid sessions: the budget locked once, two providers' resources
invoked through the session (leases issued and reused by the market), settled once with exact
balances and per-provider lines; a crashed session is settled by the sweep."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from market.audit.verify import problems
from market.services.sessions import session_expire_sweep
from tests.provider_server import ProviderServer
from tests.resource_helpers import USDC, bal, fund, publish
from tests.wallet_support import agent_api


@pytest.fixture
def provider_server():
    with ProviderServer() as server:
        yield server


@pytest.fixture
def market(sign_in, provider_server):
    owner, p1, p2 = sign_in(), sign_in(), sign_in()
    fund(owner.actor_id, 10)
    r1 = publish(p1, provider_server, price="0.010000").result
    r2 = publish(p2, provider_server, price="0.020000").result
    return owner, p1, p2, r1["resourceId"], r2["resourceId"]


def _invoke(api, session_id, resource_id, q="q"):
    return api.call("web3.resources.invoke", {"sessionId": session_id, "resourceId": resource_id, "input": {"q": q}})


@pytest.mark.keypath
def test_an_agent_s_prepaid_session_pays_two_providers_and_refunds_the_rest(market):
    owner, p1, p2, r1, r2 = market
    agent = agent_api(owner, policy={"sessionCap": "5", "dailyCap": "20"})
    # when: the agent opens a session and calls both providers through it
    session = agent.call(
        "web3.sessions.open", {"budget": "1", "currency": "USDC", "ttlSec": 600, "label": "research"}
    ).result
    locked = bal(owner.actor_id)
    calls = [
        _invoke(agent, session["sessionId"], r1).result,
        _invoke(agent, session["sessionId"], r1).result,
        _invoke(agent, session["sessionId"], r2).result,
    ]
    seen = agent.call("web3.sessions.get", {"sessionId": session["sessionId"]}).result
    settled = agent.call("web3.billing.settleSession", {"sessionId": session["sessionId"]}).result
    again = agent.call("web3.billing.settleSession", {"sessionId": session["sessionId"]}).result
    # then
    assert session["status"] == "session_open" and session["settlementId"]
    assert locked == (9 * USDC, USDC)
    assert calls[0]["lease"]["leaseId"] == calls[1]["lease"]["leaseId"] != calls[2]["lease"]["leaseId"]
    assert calls[0]["lease"]["sessionId"] == session["sessionId"]
    assert [c["usage"]["cost"] for c in calls] == ["0.010000", "0.010000", "0.020000"]
    assert seen["accrued"] == "0.040000" and seen["remaining"] == "0.960000"
    assert settled["session"]["status"] == "session_settled"
    assert sorted(
        (line["providerActorId"], line["units"], line["accrued"], line["released"])
        for line in settled["session"]["lines"]
    ) == sorted([(p1.actor_id, 2, "0.020000", "0.020000"), (p2.actor_id, 1, "0.020000", "0.020000")])
    assert settled["settlement"]["released"] == "0.040000" and settled["settlement"]["refunded"] == "0.960000"
    assert again == settled
    assert bal(owner.actor_id) == (10 * USDC - 40_000, 0)
    assert bal(p1.actor_id) == (20_000, 0)
    assert bal(p2.actor_id) == (20_000, 0)
    assert list(problems()) == []


def test_a_settled_session_takes_no_more_calls(market):
    owner, _, _, r1, _ = market
    session = owner.call("web3.sessions.open", {"budget": "1", "currency": "USDC", "ttlSec": 600}).result
    owner.call("web3.billing.settleSession", {"sessionId": session["sessionId"]})
    # when
    late = _invoke(owner, session["sessionId"], r1)
    # then
    assert late.code == "E_CONFLICT"
    assert bal(owner.actor_id) == (10 * USDC, 0)


def test_a_session_whose_agent_vanished_is_settled_by_the_sweep(market):
    owner, p1, _, r1, _ = market
    agent = agent_api(owner)
    session = agent.call("web3.sessions.open", {"budget": "2", "currency": "USDC", "ttlSec": 60}).result
    assert _invoke(agent, session["sessionId"], r1).ok
    # when: the agent never ends it; its TTL passes and the sweep runs (twice)
    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        first = session_expire_sweep()
        second = session_expire_sweep()
    # then
    assert first["settled"] == 1 and second["settled"] == 0
    got = owner.call("web3.sessions.get", {"sessionId": session["sessionId"]}).result
    assert got["status"] == "session_settled"
    assert bal(owner.actor_id) == (10 * USDC - 10_000, 0)
    assert bal(p1.actor_id) == (10_000, 0)
    assert list(problems()) == []


def test_another_agent_of_the_owner_cannot_see_the_session(market):
    owner, _, _, r1, _ = market
    agent, other = agent_api(owner), agent_api(owner, label="other")
    session = agent.call("web3.sessions.open", {"budget": "1", "currency": "USDC", "ttlSec": 600}).result
    # when
    seen = other.call("web3.sessions.get", {"sessionId": session["sessionId"]})
    used = _invoke(other, session["sessionId"], r1)
    ended = other.call("web3.billing.settleSession", {"sessionId": session["sessionId"]})
    # then
    assert (seen.code, used.code, ended.code) == ("E_NOT_FOUND", "E_NOT_FOUND", "E_NOT_FOUND")
    assert owner.call("web3.sessions.get", {"sessionId": session["sessionId"]}).ok


def test_billing_status_and_the_summary_show_the_open_session_and_degrade_with_a_message(market, settings):
    owner, _, _, _, _ = market
    agent = agent_api(owner)
    session = agent.call("web3.sessions.open", {"budget": "2", "currency": "USDC", "ttlSec": 60}).result
    # when
    status = agent.call("web3.billing.status").result
    settings.WEB3_DISABLED_METHODS = ["web3.resources.invoke"]
    switched_off = agent.call("web3.billing.status").result
    with time_machine.travel(timezone.now() + timedelta(seconds=61 + 2 * settings.WEB3_SWEEP_INTERVAL_SEC), tick=False):
        summary = owner.call("web3.status.summary").result
    # then
    assert status["USDC"] == {"available": "8.000000", "locked": "2.000000"}
    assert status["openSession"]["sessionId"] == session["sessionId"]
    assert {p["status"] for p in status["parts"].values()} == {"ok"}
    assert switched_off["parts"]["invoke"]["status"] == "degraded"
    assert "switched off" in switched_off["parts"]["invoke"]["message"]
    assert summary["parts"]["sessions"]["status"] == "degraded"
    assert "sessions.expire" in summary["parts"]["sessions"]["message"]
