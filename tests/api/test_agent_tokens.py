"""Agent tokens: delegation with scopes, shown once and stored hashed, the owner and label in every
audit event, and what a delegated token can never do."""

import hashlib
import json

from market.models import AuditEvent
from tests.wallet_support import agent_api
from web3api.models import ActorToken, AgentToken


def test_an_agent_token_acts_as_its_owner_only_within_its_scopes(alice):
    # given
    agent = agent_api(alice, scopes=["web3.identity.whoami", "web3.billing.*"])
    # when
    who = agent.call("web3.identity.whoami").result
    billing = agent.call("web3.billing.status")
    outside = agent.call("web3.leases.list")
    # then
    assert who["actorId"] == alice.actor_id and who["roles"] == []
    assert who["agent"]["label"] == "butler" and who["agent"]["tokenId"] == agent.token_id
    assert billing.ok
    assert (outside.status, outside.code) == (403, "E_FORBIDDEN")
    assert "web3.leases.list" in outside.body["error"]["message"]


def test_the_token_is_shown_once_and_stored_only_as_its_hash(alice):
    # when
    issued = alice.call(
        "web3.identity.issueAgentToken", {"label": "b", "scopes": ["web3.identity.whoami"], "ttlSec": 600}
    ).result
    listed = alice.call("web3.identity.listAgentTokens").result["items"]
    # then
    row = AgentToken.objects.get(token_id=issued["tokenId"])
    assert row.token_hash == hashlib.sha256(issued["token"].encode()).hexdigest()
    assert issued["token"] not in json.dumps(listed)
    assert "token" not in listed[0] and listed[0]["status"] == "agent_token_active"
    assert issued["token"] not in "".join(AuditEvent.objects.values_list("payload", flat=True))


def test_a_scope_that_names_nothing_is_refused(alice):
    # when
    unknown = alice.call("web3.identity.issueAgentToken", {"label": "b", "scopes": ["web3.nothing.*"], "ttlSec": 600})
    malformed = alice.call("web3.identity.issueAgentToken", {"label": "b", "scopes": ["*"], "ttlSec": 600})
    # then
    assert unknown.code == "E_INVALID_ARGUMENT" and "scopes" in unknown.body["error"]["details"]["fields"]
    assert malformed.code == "E_INVALID_ARGUMENT"


def test_a_policy_above_the_market_limit_is_refused(alice, settings):
    # given
    settings.WEB3_AGENT_MAX_SESSION_CAP = "10"
    # when
    r = alice.call(
        "web3.identity.issueAgentToken",
        {"label": "b", "scopes": ["web3.leases.*"], "policy": {"sessionCap": "10.5"}, "ttlSec": 600},
    )
    # then
    assert r.code == "E_INVALID_ARGUMENT"
    assert "policy.sessionCap" in r.body["error"]["details"]["fields"]


def test_every_event_an_agent_causes_records_the_owner_and_the_label(alice):
    # given
    agent = agent_api(alice, scopes=["web3.resources.*"], label="research butler")
    # when
    published = agent.call(
        "web3.resources.publish",
        {
            "kind": "search",
            "name": "s",
            "backend": "searxng",
            "endpoint": "https://search.example.net",
            "pricing": {"unit": "query", "unitPrice": "0.01", "currency": "USDC"},
        },
    ).result
    # then
    event = AuditEvent.objects.get(object_id=published["resourceId"], action="resource.publish")
    assert event.actor_id == alice.actor_id
    assert json.loads(event.payload)["agent"] == {
        "owner": alice.actor_id,
        "tokenId": agent.token_id,
        "label": "research butler",
    }


def test_an_agent_hands_on_only_what_it_holds(alice):
    # given
    agent = agent_api(
        alice, scopes=["web3.identity.*", "web3.leases.issue"], policy={"dailyCap": "5", "sessionCap": "2"}
    )
    # when
    wider = agent.call("web3.identity.issueAgentToken", {"label": "c", "scopes": ["web3.leases.*"], "ttlSec": 600})
    looser = agent.call(
        "web3.identity.issueAgentToken",
        {"label": "c", "scopes": ["web3.leases.issue"], "policy": {"dailyCap": "6"}, "ttlSec": 600},
    )
    within = agent.call(
        "web3.identity.issueAgentToken", {"label": "c", "scopes": ["web3.leases.issue"], "ttlSec": 999_999}
    )
    # then
    assert (wider.code, looser.code) == ("E_FORBIDDEN", "E_FORBIDDEN")
    child = within.result
    parent = AgentToken.objects.get(token_id=agent.token_id)
    assert child["parentTokenId"] == agent.token_id and child["delegationId"] == agent.token_id
    assert child["policy"] == {"dailyCap": "5", "sessionCap": "2"}
    assert AgentToken.objects.get(token_id=child["tokenId"]).expires_at <= parent.expires_at


def test_an_agent_cannot_see_or_revoke_its_owner_s_other_tokens_or_sessions(alice):
    # given: two agents of one owner
    agent = agent_api(alice, scopes=["web3.identity.*"])
    other = agent_api(alice, scopes=["web3.identity.whoami"], label="other")
    # when
    listed = agent.call("web3.identity.listAgentTokens").result["items"]
    revoke_other = agent.call("web3.identity.revokeAgentToken", {"tokenId": other.token_id})
    logout = agent.call("web3.identity.logout")
    # then
    assert [t["tokenId"] for t in listed] == [agent.token_id]
    assert revoke_other.code == "E_NOT_FOUND"
    assert logout.ok
    assert agent.call("web3.identity.whoami").code == "E_AUTH_REQUIRED"
    assert other.call("web3.identity.whoami").ok
    assert alice.call("web3.identity.whoami").ok
    assert ActorToken.objects.filter(actor_id=alice.actor_id, revoked_at__isnull=True).count() == 1


def test_revoking_a_token_revokes_the_tokens_issued_from_it(alice):
    # given
    agent = agent_api(alice, scopes=["web3.identity.*"])
    child = agent_api(agent, scopes=["web3.identity.whoami"], label="child")
    # when
    revoked = alice.call("web3.identity.revokeAgentToken", {"tokenId": agent.token_id}).result
    # then
    assert revoked["status"] == "agent_token_revoked"
    assert child.call("web3.identity.whoami").code == "E_AUTH_REQUIRED"


def test_an_agent_of_a_staff_owner_has_no_roles(staff):
    # given
    agent = agent_api(staff, scopes=["web3.admin.*", "web3.identity.whoami"])
    # when
    r = agent.call(
        "web3.admin.creditAccount",
        {"actorId": staff.actor_id, "amount": "1", "currency": "USDC", "reason": "x"},
    )
    # then
    assert agent.call("web3.identity.whoami").result["roles"] == []
    assert r.code == "E_FORBIDDEN"
