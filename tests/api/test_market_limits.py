"""web3.admin.getLimits|setLimits: staff set the market-wide limits (audited); a policy above one is
refused naming it; a limit lowered later bounds the tokens already issued."""

from __future__ import annotations

import pytest

from market.models import AuditEvent
from tests.resource_helpers import fund
from tests.wallet_support import agent_api


def _issue(owner, policy):
    return owner.call(
        "web3.identity.issueAgentToken",
        {"label": "b", "scopes": ["web3.sessions.*", "web3.billing.*"], "policy": policy, "ttlSec": 600},
    )


def test_staff_read_and_set_the_limits_and_every_change_is_audited(staff, settings):
    # given the environment's defaults
    settings.WEB3_AGENT_MAX_SESSION_CAP, settings.WEB3_AGENT_MAX_DAILY_CAP = "1000", "5000"
    before = staff.call("web3.admin.getLimits").result
    # when staff lower the session cap, then hand it back to its default
    lowered = staff.call("web3.admin.setLimits", {"sessionCap": "12.50"}).result
    read = staff.get("web3.admin.getLimits").result
    reset = staff.call("web3.admin.setLimits", {"sessionCap": None}).result
    # then
    assert before["sessionCap"] == "1000" and before["dailyCap"] == "5000" and before["updatedBy"] == ""
    assert lowered["sessionCap"] == "12.5" and lowered["dailyCap"] == "5000"
    assert lowered["defaults"] == {"sessionCap": "1000", "dailyCap": "5000"}
    assert read["sessionCap"] == "12.5" and read["updatedBy"] == staff.actor_id
    assert reset["sessionCap"] == "1000"
    events = list(AuditEvent.objects.filter(action="market_limits.set").order_by("pk"))
    assert len(events) == 2 and all(e.actor_id == staff.actor_id for e in events)
    assert '"after":{"dailyCap":"5000","sessionCap":"12.5"}' in events[0].payload


@pytest.mark.parametrize("params", [{"sessionCap": "0"}, {"dailyCap": "-1"}, {"dailyCap": 5}, {"other": "1"}])
def test_a_limit_that_is_not_a_positive_amount_is_refused(staff, params):
    r = staff.call("web3.admin.setLimits", params)
    assert r.code == "E_INVALID_ARGUMENT" and list(params) == list(r.body["error"]["details"]["fields"])
    assert not AuditEvent.objects.filter(action="market_limits.set").exists()


def test_only_staff_read_or_set_the_limits(alice, anon):
    for name, params in (("web3.admin.getLimits", {}), ("web3.admin.setLimits", {"dailyCap": "1"})):
        refused, nobody = alice.call(name, params), anon.call(name, params)
        assert (refused.status, refused.code) == (403, "E_FORBIDDEN")
        assert nobody.code == "E_AUTH_REQUIRED"


def test_a_policy_above_a_limit_staff_set_is_refused_naming_it(staff, alice):
    # given
    assert staff.call("web3.admin.setLimits", {"sessionCap": "10", "dailyCap": "40"}).ok
    # when
    over = _issue(alice, {"sessionCap": "10.5"})
    daily = _issue(alice, {"dailyCap": "41"})
    within = _issue(alice, {"sessionCap": "10", "dailyCap": "40"})
    # then
    assert over.code == "E_INVALID_ARGUMENT"
    assert "sessionCap of 10" in over.body["error"]["details"]["fields"]["policy.sessionCap"]
    assert "dailyCap of 40" in daily.body["error"]["details"]["fields"]["policy.dailyCap"]
    assert within.ok


def test_lowering_a_limit_bounds_the_tokens_already_issued(staff, alice):
    # given an agent with caps of its own well within the defaults, in an open session
    fund(alice.actor_id, 50)
    agent = agent_api(alice, policy={"sessionCap": "20", "dailyCap": "30"})
    sid = agent.call("web3.sessions.open", {"budget": "5", "currency": "USDC", "ttlSec": 600}).result["sessionId"]
    guard = {"sessionId": sid, "tool": "t", "estimatedCost": "3"}
    assert agent.call("web3.billing.guard", guard).result["allow"] is True
    # when staff lower both limits below the token's own caps
    assert staff.call("web3.admin.setLimits", {"sessionCap": "4", "dailyCap": "2"}).ok
    # then the guard counts the market's daily limit, and a new session over the session limit is refused
    verdict = agent.call("web3.billing.guard", guard).result
    refused = agent.call("web3.sessions.open", {"budget": "5", "currency": "USDC", "ttlSec": 600})
    assert (verdict["allow"], verdict["reason"], verdict["remaining"]) == (False, "daily_cap", "2.000000")
    assert refused.code == "E_QUOTA_EXCEEDED" and refused.body["error"]["details"]["cap"] == "sessionCap"
    assert refused.body["error"]["details"]["limit"] == "4.000000"
    # and handing the limits back to their defaults gives the token its own caps again
    assert staff.call("web3.admin.setLimits", {"sessionCap": None, "dailyCap": None}).ok
    assert agent.call("web3.billing.guard", guard).result["allow"] is True


def test_a_session_waiting_for_approval_is_held_to_a_limit_lowered_meanwhile(staff, alice):
    # given a session that waits for its owner, within the limits when it was opened
    fund(alice.actor_id, 50)
    agent = agent_api(alice, policy={"approvalAbove": "1"})
    sid = agent.call("web3.sessions.open", {"budget": "5", "currency": "USDC", "ttlSec": 600}).result["sessionId"]
    # when staff lower the session limit below its budget, and the owner approves
    assert staff.call("web3.admin.setLimits", {"sessionCap": "3"}).ok
    refused = alice.call("web3.sessions.approve", {"sessionId": sid})
    # then nothing is locked and the session still waits
    assert refused.code == "E_QUOTA_EXCEEDED" and refused.body["error"]["details"]["cap"] == "sessionCap"
    assert alice.call("web3.sessions.get", {"sessionId": sid}).result["status"] == "session_pending_approval"
