"""The butler's wallet in Chromium: the owner approves one session that waits for it and declines
another, then reads a finished session's per-provider lines and settlement."""

import pytest
from playwright.sync_api import expect

from market.models import Session
from tests.browser.conftest import shot, sign_in
from tests.provider_server import ProviderServer
from tests.resource_helpers import fund, publish
from tests.wallet_support import agent_api

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sign_in_api(sign_in):
    """The API's sign-in fixture (the module's `sign_in` is the console's, by the wallet button)."""
    return sign_in


@pytest.fixture
def provider_server():
    with ProviderServer() as server:
        yield server


def test_the_owner_decides_waiting_sessions_and_reads_a_finished_one(actor_page, sign_in_api, provider_server):
    # given an owner whose agent finished a session with one provider and asked twice for more than it may alone
    owner = actor_page()
    api = sign_in_api(owner.account)
    fund(api.actor_id, 10)
    provider = sign_in_api()
    resource = publish(provider, provider_server, price="0.010000").result["resourceId"]
    agent = agent_api(api, policy={"approvalAbove": "2"})
    done = agent.call("web3.sessions.open", {"budget": "1", "currency": "USDC", "ttlSec": 600, "label": "research"})
    sid = done.result["sessionId"]
    assert agent.call("web3.resources.invoke", {"sessionId": sid, "resourceId": resource, "input": {"q": "x"}}).ok
    assert agent.call("web3.billing.settleSession", {"sessionId": sid}).ok
    first, second = (
        agent.call("web3.sessions.open", {"budget": "3", "currency": "USDC", "ttlSec": 600}).result["sessionId"]
        for _ in range(2)
    )
    sign_in(owner, "/console/sessions/")
    page = owner.page

    # when the owner approves the first and declines the second
    page.get_by_role("button", name=f"Approve {first}").click()
    expect(page.get_by_role("status")).to_contain_text("approved: its budget is locked")
    page.get_by_role("button", name=f"Decline {second}").click()
    expect(page.get_by_role("status")).to_contain_text("declined: nothing was locked")
    # then neither waits any more, and the money followed
    expect(page.get_by_role("button", name=f"Approve {second}")).to_have_count(0)
    assert Session.objects.get(session_id=first).status == "session_open"
    assert Session.objects.get(session_id=second).status == "session_declined"
    shot(page, "sessions")

    # when the owner opens the finished session
    page.get_by_role("link", name=sid).click()
    # then its provider's line, and the settlement that refunded the rest
    line = page.get_by_role("table", name="Per provider").get_by_role("row").filter(has_text=provider.actor_id)
    expect(line).to_contain_text("0.010000 USDC")
    expect(page.get_by_test_id("session-accrued")).to_have_text("0.010000 USDC")
    expect(page.get_by_test_id("settlement-refunded")).to_have_text("0.990000 USDC")
    expect(page.get_by_test_id("settlement-status")).to_contain_text("refunded")
    shot(page, "session-detail")
