"""web3.billing.guard reaches every stable reason; over a cap nothing is locked; the approval flow;
trusted mode with its cap."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

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
    r1 = publish(p1, provider_server, price="0.010000").result["resourceId"]
    r2 = publish(p2, provider_server, price="0.010000").result["resourceId"]
    return owner, p1, p2, r1, r2


def _open(api, budget="1", **extra):
    return api.call("web3.sessions.open", {"budget": budget, "currency": "USDC", "ttlSec": 600, **extra})


def _guard(api, session_id, **params):
    return api.call("web3.billing.guard", {"sessionId": session_id, "tool": "web_search", **params}).result


def _invoke(api, session_id, resource_id):
    return api.call("web3.resources.invoke", {"sessionId": session_id, "resourceId": resource_id, "input": {"q": "x"}})


def test_the_guard_allows_a_call_the_session_can_pay(market):
    owner, _, _, r1, _ = market
    agent = agent_api(owner)
    sid = _open(agent).result["sessionId"]
    # when
    verdict = _guard(agent, sid, resourceId=r1)
    # then
    assert verdict == {"allow": True, "reason": "ok", "remaining": "1.000000"}
    assert agent.get("web3.billing.guard", {"sessionId": sid, "tool": "t"}).result["allow"] is True


@pytest.mark.parametrize(
    ("policy", "budget", "params", "reason"),
    [
        ({}, "1", {"estimatedCost": "1.5"}, "insufficient_budget"),
        ({"dailyCap": "1"}, "5", {"estimatedCost": "2"}, "daily_cap"),
        ({"counterpartyDailyCap": "0.5"}, "5", {"estimatedCost": "1", "resource": True}, "counterparty_cap"),
        ({"providerDeny": ["p1"]}, "1", {"resource": True}, "provider_not_allowed"),
        ({"approvalAbove": "0.5"}, "1", {}, "approval_required"),
    ],
)
def test_the_guard_names_what_stands_in_the_way(market, policy, budget, params, reason):
    owner, p1, _, r1, _ = market
    policy = {k: ([p1.actor_id] if v == ["p1"] else v) for k, v in policy.items()}
    agent = agent_api(owner, policy=policy)
    sid = _open(agent, budget).result["sessionId"]
    if params.pop("resource", False):
        params["resourceId"] = r1
    # when
    verdict = _guard(agent, sid, **params)
    # then
    assert (verdict["allow"], verdict["reason"]) == (False, reason)


def test_the_guard_knows_no_session_it_may_not_see(market):
    owner, _, _, _, _ = market
    sid = _open(owner).result["sessionId"]
    agent = agent_api(owner)
    # then
    assert _guard(agent, "ses_nothing")["reason"] == "no_session"
    assert _guard(agent, sid)["reason"] == "no_session"


def test_the_guard_says_when_the_session_expired(market):
    owner, _, _, _, _ = market
    sid = _open(owner).result["sessionId"]
    # when
    with time_machine.travel(timezone.now() + timedelta(seconds=601), tick=False):
        verdict = _guard(owner, sid)
    # then
    assert verdict["reason"] == "session_expired" and verdict["allow"] is False


def test_the_guard_rate_limits_with_the_policy(market):
    owner, _, _, r1, _ = market
    agent = agent_api(owner, policy={"callsPerMinute": 1})
    sid = _open(agent).result["sessionId"]
    assert _invoke(agent, sid, r1).ok
    # when
    verdict = _guard(agent, sid, resourceId=r1)
    refused = _invoke(agent, sid, r1)
    # then
    assert verdict["reason"] == "rate_limited" and verdict["retryAfterSec"] == 60
    assert refused.code == "E_QUOTA_EXCEEDED"


def test_the_guard_says_the_market_is_unavailable_when_invoke_is_switched_off(market, settings):
    owner, _, _, _, _ = market
    sid = _open(owner).result["sessionId"]
    settings.WEB3_DISABLED_METHODS = ["web3.resources.invoke"]
    # when
    verdict = _guard(owner, sid)
    # then
    assert verdict["reason"] == "market_unavailable" and verdict["retryAfterSec"] > 0


def test_a_budget_over_the_session_cap_is_refused_naming_the_cap_and_nothing_is_locked(market):
    owner, _, _, _, _ = market
    agent = agent_api(owner, policy={"sessionCap": "2"})
    # when
    r = _open(agent, "2.5")
    # then
    assert (r.status, r.code) == (429, "E_QUOTA_EXCEEDED")
    assert r.body["error"]["details"]["cap"] == "sessionCap" and r.body["error"]["details"]["limit"] == "2.000000"
    assert bal(owner.actor_id) == (10 * USDC, 0)


def test_a_call_over_the_daily_cap_is_refused_naming_it(market):
    owner, _, _, r1, _ = market
    agent = agent_api(owner, policy={"dailyCap": "0.015"})
    sid = _open(agent).result["sessionId"]
    assert _invoke(agent, sid, r1).ok
    # when
    r = _invoke(agent, sid, r1)
    # then
    assert r.code == "E_QUOTA_EXCEEDED" and r.body["error"]["details"]["cap"] == "dailyCap"
    assert agent.call("web3.sessions.get", {"sessionId": sid}).result["accrued"] == "0.010000"


def test_a_budget_above_the_threshold_waits_for_the_owner_s_approval(market):
    owner, _, _, r1, _ = market
    agent = agent_api(owner, policy={"approvalAbove": "1"})
    # when: the agent asks for more than the threshold
    waiting = _open(agent, "3").result
    blocked = _invoke(agent, waiting["sessionId"], r1)
    self_approved = agent.call("web3.sessions.approve", {"sessionId": waiting["sessionId"]})
    before = bal(owner.actor_id)
    approved = owner.call("web3.sessions.approve", {"sessionId": waiting["sessionId"]}).result
    # then
    assert waiting["status"] == "session_pending_approval" and waiting["settlementId"] is None
    assert blocked.code == "E_CONFLICT" and self_approved.code == "E_FORBIDDEN"
    assert before == (10 * USDC, 0)
    assert approved["status"] == "session_open" and bal(owner.actor_id) == (7 * USDC, 3 * USDC)
    assert _invoke(agent, waiting["sessionId"], r1).ok


def test_an_approval_may_be_declined_or_lapse(market):
    owner, _, _, _, _ = market
    agent = agent_api(owner, policy={"approvalAbove": "1"})
    declined_id, lapsing_id = _open(agent, "2").result["sessionId"], _open(agent, "2").result["sessionId"]
    # when
    declined = owner.call("web3.sessions.decline", {"sessionId": declined_id}).result
    with time_machine.travel(timezone.now() + timedelta(seconds=901), tick=False):
        swept = session_expire_sweep()
        late = owner.call("web3.sessions.approve", {"sessionId": lapsing_id})
    # then
    assert declined["status"] == "session_declined"
    assert swept["lapsed"] == 1 and late.code == "E_CONFLICT"
    assert owner.call("web3.sessions.get", {"sessionId": lapsing_id}).result["status"] == "session_expired"
    assert bal(owner.actor_id) == (10 * USDC, 0)


def test_a_trusted_session_locks_nothing_accrues_up_to_its_cap_and_pays_from_the_free_balance(market):
    owner, p1, _, r1, r2 = market
    agent = agent_api(owner, policy={"providerAllow": [p1.actor_id]})
    sid = _open(agent, "0.02", mode="trusted").result["sessionId"]
    # when
    first, second = _invoke(agent, sid, r1), _invoke(agent, sid, r1)
    locked = bal(owner.actor_id)
    over = _invoke(agent, sid, r1)
    elsewhere = _invoke(agent, sid, r2)
    capped = _guard(agent, sid, resourceId=r1)
    settled = agent.call("web3.billing.settleSession", {"sessionId": sid}).result
    # then
    assert first.ok and second.ok
    assert locked == (10 * USDC, 0)
    assert over.code == "E_QUOTA_EXCEEDED" and over.body["error"]["details"]["cap"] == "sessionCap"
    assert elsewhere.code == "E_FORBIDDEN"
    assert capped["reason"] == "session_cap"
    assert settled["settlement"] is None and settled["session"]["released"] == "0.020000"
    assert bal(owner.actor_id) == (10 * USDC - 20_000, 0) and bal(p1.actor_id) == (20_000, 0)


def test_a_trusted_session_needs_an_allowlist(market):
    owner, _, _, _, _ = market
    # then
    assert _open(owner, mode="trusted").code == "E_FORBIDDEN"
    assert _open(agent_api(owner), mode="trusted").code == "E_FORBIDDEN"
