"""The butler's wallet in the console: agent tokens (issue with a policy, shown once, revoke),
sessions (pending approvals decided, a finished session's lines, settlement and hook trail with its
seals), and the staff's market limits. Each page renders for its audience and refuses everyone
else; no page shows a token or an endpoint; query counts do not grow with the number of objects."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from eth_account import Account

from market.audit.checkpoints import seal_sweep
from market.audit.sequencer import audit_sequence
from market.models import AuditEvent, Session
from market.selectors.trail import trail_session
from market.services.sessions import Opener, session_open
from market.services.trail import HookEvent, hooks_ingest
from tests.console.support import console_sign_in
from tests.provider_server import ProviderServer
from tests.resource_helpers import fund, publish
from tests.wallet_support import agent_api
from web3api.identity.services import hash_token, role_grant
from web3api.models import AgentToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider_server():
    with ProviderServer() as server:
        yield server


def _console(account=None) -> tuple[Client, str]:
    client = Client()
    account = console_sign_in(client, account)
    return client, account.address.lower()


def _hooks(session_id: str, owner: str, n: int) -> None:
    at = timezone.now()
    for start in range(0, n, 100):
        events = [
            HookEvent("before_tool_call", at, {"i": i}, tool="web.search") for i in range(start, min(n, start + 100))
        ]
        hooks_ingest(session=trail_session(session_id=session_id, actor_id=owner), actor_id=owner, events=events)


def test_the_owner_sees_and_decides_its_sessions_and_no_one_else_can(sign_in, provider_server):
    # given an owner whose agent finished a session with one provider, and asked for a budget above approval
    account = Account.create()
    owner = sign_in(account)
    fund(owner.actor_id, 10)
    provider = sign_in()
    resource = publish(provider, provider_server, price="0.010000").result["resourceId"]
    agent = agent_api(
        owner,
        scopes=["web3.sessions.*", "web3.billing.*", "web3.resources.invoke", "web3.hooks.*"],
        policy={"approvalAbove": "2"},
    )
    done = agent.call("web3.sessions.open", {"budget": "1", "currency": "USDC", "ttlSec": 600, "label": "done"}).result
    sid = done["sessionId"]
    assert agent.call("web3.resources.invoke", {"sessionId": sid, "resourceId": resource, "input": {"q": "x"}}).ok
    assert agent.call(
        "web3.hooks.ingest",
        {
            "sessionId": sid,
            "events": [
                {"hook": "before_tool_call", "at": "2026-12-01T12:00:00Z", "payload": {"q": "x"}, "tool": "web.search"}
            ],
        },
    ).ok
    assert agent.call("web3.billing.settleSession", {"sessionId": sid}).ok
    waits = [
        agent.call("web3.sessions.open", {"budget": "3", "currency": "USDC", "ttlSec": 600}).result for _ in range(2)
    ]
    console, _ = _console(account)
    # when the owner reads its sessions and the finished one, before and after the trail is sealed
    listed = console.get("/console/sessions/").content.decode()
    before = console.get(f"/console/sessions/{sid}/").content.decode()
    seal_sweep()
    after = console.get(f"/console/sessions/{sid}/").content.decode()
    # then the list offers Approve / Decline for the waiting ones, the detail shows the line and the seal
    assert all(w["sessionId"] in listed for w in waits) and 'value="approve"' in listed
    assert provider.actor_id in before and "0.010000 USDC" in before and "0.990000 USDC" in before
    assert "not sealed yet" in before and "sha256:" in before
    event = AuditEvent.objects.get(object_id=sid, action="hook.before_tool_call")
    assert f"web3.audit.proof?eventId={event.event_id}" in after and "not sealed yet" not in after
    for page in (listed, before, after):
        assert agent.token not in page and "127.0.0.1:" not in page
    # when the owner approves one and declines the other
    approve = console.post(f"/console/sessions/{waits[0]['sessionId']}/decide/", {"decision": "approve"})
    decline = console.post(f"/console/sessions/{waits[1]['sessionId']}/decide/", {"decision": "decline"})
    # then
    assert approve.status_code == decline.status_code == 302
    states = dict(
        Session.objects.filter(session_id__in=[w["sessionId"] for w in waits]).values_list("session_id", "status")
    )
    assert states == {waits[0]["sessionId"]: "session_open", waits[1]["sessionId"]: "session_declined"}
    # and another actor finds none of it, and nobody signed in is sent to sign in
    other, _ = _console()
    assert other.get(f"/console/sessions/{sid}/").status_code == 404
    assert other.post(f"/console/sessions/{waits[0]['sessionId']}/decide/", {"decision": "decline"}).status_code == 404
    assert other.post(f"/console/agents/{agent.token_id}/revoke/").status_code == 404
    assert sid not in other.get("/console/sessions/").content.decode()
    assert Client().get("/console/sessions/").status_code == 302


def test_the_owner_issues_a_token_shown_once_within_the_limits_and_revokes_it(sign_in):
    console, owner = _console()
    form = {"label": "butler", "scopes": ["web3.sessions.*"], "methods": "web3.resources.invoke", "ttlSec": "86400"}
    # when a policy asks for more than the market allows, then within it
    refused = console.post("/console/agents/", {**form, "sessionCap": "5000"})
    malformed = console.post("/console/agents/", {**form, "dailyCap": "1e3", "providerDeny": "nobody"})
    issued = console.post("/console/agents/", {**form, "sessionCap": "5", "approvalAbove": "2"})
    # then the refusal is on its field, and the token is shown on the answer only
    assert refused.status_code == 400 and "above the market&#x27;s limit sessionCap" in refused.content.decode()
    assert malformed.status_code == 400 and "A decimal amount" in malformed.content.decode()
    assert "Actor ids" in malformed.content.decode()
    row = AgentToken.objects.get(owner_actor_id=owner)
    token = issued.context["issued"].token
    assert issued.status_code == 200 and token in issued.content.decode() and row.token_hash == hash_token(token)
    assert row.policy == {"sessionCap": "5", "approvalAbove": "2"}
    assert row.scopes == ["web3.sessions.*", "web3.resources.invoke"]
    listed = console.get("/console/agents/").content.decode()
    assert row.token_id in listed and token not in listed
    # when the owner revokes it
    revoked = console.post(f"/console/agents/{row.token_id}/revoke/")
    # then
    row.refresh_from_db()
    assert revoked.status_code == 302 and row.revoked_at is not None


def test_staff_set_the_market_limits_on_their_page_and_no_one_else_may(sign_in):
    actor, _ = _console()
    staff, staff_id = _console()
    role_grant(actor_id=staff_id, role="staff")
    # when
    refused = (
        actor.get("/console/staff/limits/").status_code,
        actor.post("/console/staff/limits/", {"sessionCap": "1"}).status_code,
    )
    page = staff.get("/console/staff/limits/")
    bad = staff.post("/console/staff/limits/", {"sessionCap": "lots"})
    saved = staff.post("/console/staff/limits/", {"sessionCap": "7.5", "dailyCap": ""})
    shown = staff.get("/console/staff/limits/").content.decode()
    # then
    assert refused == (403, 403) and page.status_code == 200 and "Never set" in page.content.decode()
    assert bad.status_code == 400 and "A decimal amount" in bad.content.decode()
    assert saved.status_code == 302
    assert 'data-testid="limit-sessionCap">7.5<' in shown and staff_id in shown
    event = AuditEvent.objects.get(action="market_limits.set")
    assert event.actor_id == staff_id and '"sessionCap":"7.5"' in event.payload


def _grow(owner: str, sid: str, n: int) -> None:
    """Up to n agent tokens, n sessions waiting for approval, and n hook events on session sid."""
    now = timezone.now()
    have = AgentToken.objects.filter(owner_actor_id=owner).count()
    AgentToken.objects.bulk_create(
        AgentToken(
            token_id=f"agt_bulk{i}",
            token_hash=hash_token(secrets.token_hex(16)),
            owner_actor_id=owner,
            label=f"agent {i}",
            scopes=["web3.sessions.*"],
            policy={"dailyCap": "1", "providerDeny": []},
            delegation_id=f"agt_bulk{i}",
            expires_at=now + timedelta(days=1),
        )
        for i in range(have, n)
    )
    have = Session.objects.filter(owner_actor_id=owner).count()
    Session.objects.bulk_create(
        Session(
            session_id=f"ses_bulk{i}",
            owner_actor_id=owner,
            currency="USDC",
            budget=10**6,
            ttl_sec=600,
            expires_at=now + timedelta(hours=1),
            approval_expires_at=now + timedelta(hours=1),
            status=Session.Status.PENDING_APPROVAL,
            label=f"s{i}",
        )
        for i in range(have, n)
    )
    _hooks(sid, owner, n - AuditEvent.objects.filter(object_id=sid, action__startswith="hook.").count())


def test_the_wallet_pages_cost_the_same_queries_with_50_and_500_objects(db, settings):
    settings.WEB3_HOOKS_MAX_EVENTS_PER_SESSION = 1000
    console, owner = _console()
    fund(owner, 5)
    sid = session_open(opener=Opener(owner_actor_id=owner), budget=10**6, currency="USDC", ttl_sec=600).session_id
    paths = ["/console/agents/", "/console/sessions/", f"/console/sessions/{sid}/"]

    def counts():
        out = {}
        for path in paths:
            with CaptureQueriesContext(connection) as ctx:
                assert console.get(path).status_code == 200, path
            out[path] = len(ctx.captured_queries)
        return out

    _grow(owner, sid, 50)
    audit_sequence()  # as after their commits (the test's own transaction never commits)
    small = counts()
    seal_sweep()
    _grow(owner, sid, 500)
    audit_sequence()
    assert counts() == small
