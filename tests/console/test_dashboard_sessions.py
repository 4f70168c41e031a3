"""The dashboard's reserved balance, part by part, against what really holds the actor's money: an
open prepaid session opened by the owner's agent through the API, a lease, and nothing once the
session is settled."""

from __future__ import annotations

from django.test import Client

from market.models import Session
from market.money import format_amount
from tests.console.support import console_sign_in
from tests.provider_server import ProviderServer
from tests.resource_helpers import USDC, fund, publish
from tests.wallet_support import agent_api


def _part(page: str, name: str) -> str:
    marker = f'data-testid="USDC-{name}">'
    return page.split(marker, 1)[1].split("<", 1)[0]


def test_the_reserved_parts_are_what_open_sessions_and_leases_hold(sign_in):
    # given an owner with 10 USDC whose agent opened a prepaid session of 2 USDC and called a provider
    # through it, and who leased another resource for 1 USDC
    owner, provider = sign_in(), sign_in()
    fund(owner.actor_id, 10)
    with ProviderServer() as server:
        searched = publish(provider, server, price="0.010000").result
        leased = publish(provider, server, price="0.010000").result
        agent = agent_api(owner)
        opened = agent.call("web3.sessions.open", {"budget": "2", "currency": "USDC", "ttlSec": 600}).result
        call = {"sessionId": opened["sessionId"], "resourceId": searched["resourceId"], "input": {"q": "q"}}
        assert agent.call("web3.resources.invoke", call).ok
        assert owner.call("web3.leases.issue", {"resourceId": leased["resourceId"], "maxCost": "1", "ttlSec": 600}).ok
    session = Session.objects.get(session_id=opened["sessionId"])
    assert session.accrued == USDC // 100
    held = session.settlement.remaining
    assert held == 2 * USDC - session.released
    console = Client()
    console_sign_in(console, owner.account)

    # when the owner reads the dashboard
    page = console.get("/console/").content.decode()

    # then the session part is exactly what the session's lock still holds, the lease part the lease's
    assert _part(page, "session") == f"{format_amount(held, 'USDC')} USDC"
    assert _part(page, "lease") == "1.000000 USDC"
    assert _part(page, "reserved-total") == f"{format_amount(held + USDC, 'USDC')} USDC"
    assert "Other:" not in page

    # when the agent settles the session (the provider paid, the rest refunded)
    assert agent.call("web3.billing.settleSession", {"sessionId": opened["sessionId"]}).ok
    page = console.get("/console/").content.decode()

    # then nothing is reserved for sessions, and what the call cost is an expense of the owner's
    assert 'data-testid="USDC-session"' not in page  # a part with nothing in it is left out of the legend
    assert _part(page, "reserved-total") == "1.000000 USDC"
    assert _part(page, "available-total") == "8.990000 USDC"
    assert _part(page, "24h-expense") == "0.010000 USDC"
