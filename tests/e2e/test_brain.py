"""Brain resolution through the API: an agent's session picks its preferred allowed model, thinks
with it through the session, is moved to another when its provider starts failing (a real loopback
provider answering 503), falls back to its centralized model when none is left, and comes back when
the providers recover; the current source is shown by billing.status and status.summary."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from market.audit.verify import problems
from tests.provider_server import ProviderServer
from tests.resource_helpers import fund, publish
from tests.wallet_support import agent_api

SCOPES = (
    "web3.brain.*",
    "web3.sessions.*",
    "web3.billing.*",
    "web3.status.summary",
    "web3.index.health",
    "web3.identity.issueAgentToken",
)
ASK = {"messages": [{"role": "user", "content": "plan my day"}], "max_tokens": 16}


@pytest.fixture
def two_brains(sign_in, settings):
    """Two model providers on loopback: r1 on the market's allowlist, r2's provider on the owner's."""
    with ProviderServer() as s1, ProviderServer() as s2:
        owner, p1, p2 = sign_in(), sign_in(), sign_in()
        fund(owner.actor_id, 10)
        model = {"kind": "model", "backend": "openai-compat", "unit": "token", "policy": {"maxTokens": 64}}
        r1 = publish(p1, s1, price="1.000000", name="brain one", **model).result["resourceId"]
        r2 = publish(p2, s2, price="2.000000", name="brain two", **model).result["resourceId"]
        settings.WEB3_BRAIN_ALLOWLIST = [r1]
        agent = agent_api(owner, scopes=SCOPES, policy={"brainAllow": [p2.actor_id]})
        agent.owner = owner
        yield agent, (s1, s2), (r1, r2), (p1, p2)


def _open(agent, budget="1"):
    return agent.call("web3.sessions.open", {"budget": budget, "currency": "USDC", "ttlSec": 600}).result["sessionId"]


def _sources(agent):
    """The brain as web3.billing.status and web3.status.summary show it."""
    billing = agent.call("web3.billing.status").result
    summary = agent.call("web3.status.summary").result
    assert billing["brain"] == summary["brain"]
    return billing["brain"], billing["parts"]["brain"], summary["parts"]["brain"]


@pytest.mark.keypath
def test_the_preferred_brain_then_another_when_it_fails_then_the_fallback_then_back(two_brains):
    agent, (s1, s2), (r1, r2), (p1, p2) = two_brains
    sid = _open(agent)

    # when: the agent lists its candidates and resolves with r2 preferred
    listed = agent.call("web3.brain.candidates", {"sessionId": sid}).result["items"]
    chosen = agent.call("web3.brain.resolve", {"sessionId": sid, "preferred": r2}).result
    shown, billing_part, _ = _sources(agent)
    answer = agent.call("web3.brain.invoke", {"sessionId": sid, "input": ASK}).result

    # then: both are allowed (by the market and by the owner), r1 scores higher (cheaper), r2 is taken
    assert [(c["resourceId"], c["allowedBy"], c["usable"]) for c in listed] == [
        (r1, "market", True),
        (r2, "owner", True),
    ]
    assert listed[0]["score"] > listed[1]["score"]
    assert listed[0]["callCost"] == "0.000320" and listed[1]["callCost"] == "0.000640"
    assert chosen["source"] == "web3" and chosen["resourceId"] == r2 and chosen["model"] == "brain two"
    assert set(chosen) >= {"leaseId", "providerActorId"} and "reason" not in chosen
    assert shown == chosen and "brain two" in billing_part["message"]
    assert answer["resourceId"] == r2 and answer["output"]["choices"][0]["message"]["content"] == "hello"
    assert answer["usage"] == {"units": 42, "cost": "0.000084"}
    assert len(s2.state.requests) == 1 and not s1.state.requests

    # when: r2's provider starts failing and the agent asks its brain again
    s2.state.status = 503
    moved = agent.call("web3.brain.invoke", {"sessionId": sid, "input": ASK}).result
    health = agent.call("web3.index.health", {"resourceId": r2}).result
    # then: the call went on to r1, and r2's failure counts toward its health
    assert moved["source"] == "web3" and moved["resourceId"] == r1 and moved["output"]["model"] == "m"
    assert health["recentFailures"] == 1 and health["recentInvocations"] == 2
    assert _sources(agent)[0]["resourceId"] == r1

    # when: r1 fails too
    s1.state.status = 500
    fallen = agent.call("web3.brain.invoke", {"sessionId": sid, "input": ASK}).result
    again = agent.call("web3.brain.resolve", {"sessionId": sid, "preferred": r2}).result
    listed = agent.call("web3.brain.candidates", {"sessionId": sid}).result["items"]
    shown, billing_part, status_part = _sources(agent)
    # then: the agent is told to use its centralized model, never blocked
    assert fallen == {
        "sessionId": sid,
        "source": "centralized",
        "reason": "no_healthy_brain",
        "failures": 2,
        "resolvedAt": fallen["resolvedAt"],
    }
    assert again["source"] == "centralized" and again["preferredSkipped"] == "unhealthy"
    assert {c["health"] for c in listed} == {"failing"} and not any(c["usable"] for c in listed)
    assert shown["source"] == "centralized" and "no_healthy_brain" in billing_part["message"]
    assert status_part["status"] == "degraded"

    # when: the providers recover and the cooldown has passed
    s1.state.status = s2.state.status = 200
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        back = agent.call("web3.brain.resolve", {"sessionId": sid}).result
        shown = _sources(agent)[0]
    # then: the best brain is chosen again (r1: cheaper, and r2 failed more)
    assert back["source"] == "web3" and back["resourceId"] == r1 and shown["resourceId"] == r1

    # and: each change was audited with its cause, the session paid both providers exactly
    events = agent.owner.call("web3.audit.query", {"objectType": "session", "objectId": sid, "limit": 200}).result
    causes = [json.loads(e["payload"]) for e in reversed(events["items"]) if e["action"] == "brain.resolve"]
    assert [(c["source"], c["resourceId"], c["cause"]) for c in causes] == [
        ("web3", r2, "resolve"),
        ("web3", r1, "failure"),
        ("centralized", None, "failure"),
        ("web3", r1, "resolve"),
    ]
    assert causes[1]["failed"] == {"resourceId": r2, "error": "E_UNAVAILABLE"}
    session = agent.call("web3.sessions.get", {"sessionId": sid}).result
    assert sorted((x["providerActorId"], x["accrued"]) for x in session["lines"]) == sorted(
        [(p1.actor_id, "0.000042"), (p2.actor_id, "0.000084")]
    )
    assert list(problems()) == []


def test_the_fallback_answers_instead_of_refusing_and_errors_are_for_bad_input_only(two_brains, sign_in, settings):
    agent, _, (r1, r2), (_, p2) = two_brains
    sid = _open(agent)
    stranger = sign_in()

    # when: a session whose budget cannot cover a call, one with nothing allowed, a settled one
    poor = _open(agent, budget="0.0001")
    poor_answer = agent.call("web3.brain.resolve", {"sessionId": poor}).result
    settings.WEB3_BRAIN_ALLOWLIST = []
    owner_only = agent.call("web3.brain.resolve", {"sessionId": sid, "preferred": r1}).result
    plain = agent_api(agent.owner, scopes=SCOPES, label="plain")  # no brainAllow of its own
    nothing = plain.call("web3.brain.resolve", {"sessionId": _open(plain)}).result
    agent.call("web3.billing.settleSession", {"sessionId": sid})
    closed = agent.call("web3.brain.invoke", {"sessionId": sid, "input": ASK}).result

    # then: each is a centralized answer with its reason, not an error
    assert (poor_answer["source"], poor_answer["reason"]) == ("centralized", "insufficient_budget")
    assert owner_only["resourceId"] == r2 and owner_only["preferredSkipped"] == "not_allowed"
    assert (nothing["source"], nothing["reason"]) == ("centralized", "no_allowed_brain")
    assert (closed["source"], closed["reason"]) == ("centralized", "session_not_open")

    # and: another's session, bad input and a token widening brainAllow are errors
    assert stranger.call("web3.brain.resolve", {"sessionId": poor}).code == "E_NOT_FOUND"
    assert agent.call("web3.brain.resolve", {"sessionId": poor, "colour": "red"}).code == "E_INVALID_ARGUMENT"
    fresh = _open(agent)
    assert agent.call("web3.brain.invoke", {"sessionId": fresh, "input": {"messages": []}}).code == "E_INVALID_ARGUMENT"
    wider = agent.call(
        "web3.identity.issueAgentToken",
        {"label": "x", "scopes": ["web3.brain.*"], "ttlSec": 600, "policy": {"brainAllow": [r1]}},
    )
    assert wider.code == "E_FORBIDDEN" and "brainAllow" in wider.body["error"]["message"]
