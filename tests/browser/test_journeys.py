"""The console's journeys in Chromium, as people would walk them: a non-developer publishes a
resource after a Test call, another actor leases it, tries it and revokes it, and both read the
settlement and their figures to the last minor unit; a task goes from publish to accepted; an
actor who is not staff is refused the staff pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot, sign_in
from tests.provider_server import ProviderServer
from tests.resource_helpers import fund

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def provider_server():
    with ProviderServer() as server:
        yield server


def test_publish_with_a_test_call_lease_try_revoke_and_both_dashboards_show_the_settlement(actor_page, provider_server):
    # given a provider and a consumer with 10 USDC, each in their own browser with a wallet
    alice, bob = actor_page(), actor_page()
    fund(bob.actor_id, 10)
    sign_in(alice)
    sign_in(bob)

    # when the provider fills the onboarding form and makes a Test call
    alice.goto("/console/resources/new/")
    page = alice.page
    page.get_by_label("Name", exact=True).fill("Weather search")
    page.get_by_label("Kind").select_option("search")
    page.get_by_label("Backend").select_option("searxng")
    page.get_by_label("Endpoint").fill(provider_server.base)
    page.get_by_label("Unit").select_option("query")
    page.get_by_label("Price").fill("0.25")
    page.get_by_label("Currency").select_option("USDC")
    page.get_by_role("button", name="Test call").click()
    # then the page shows the answer's status and latency, and nothing of the endpoint
    expect(page.get_by_test_id("test-status")).to_have_text("200 (OK)")
    expect(page.get_by_test_id("test-latency")).to_contain_text("ms")
    assert str(provider_server.port) not in page.get_by_test_id("test-result").inner_text()
    shot(page, "resource-onboarding-test-call")
    # when they publish
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published Weather search")).to_be_visible()
    resource_url = page.url
    assert str(provider_server.port) not in page.content()
    # and report it to the index, their wallet signing the exact string the page shows
    expect(page.get_by_test_id("health")).to_have_text("stale")
    page.get_by_role("button", name="Sign with wallet").click()
    expect(page.get_by_label("Signature")).to_have_value(re.compile(r"^0x[0-9a-f]{130}$"))
    page.get_by_role("button", name="Report to the index").click()
    expect(page.get_by_text("Reported to the index")).to_be_visible()
    expect(page.get_by_test_id("health")).to_have_text("healthy")
    shot(page, "resource-detail-provider")

    # when the consumer finds it, leases it with a 2 USDC budget for an hour
    bob.goto("/console/resources/")
    shot(bob.page, "resources-list")
    bob.page.get_by_role("link", name="Weather search").click()
    bob.page.get_by_label("Budget").fill("2")
    bob.page.get_by_label("Time to live").select_option("3600")
    bob.page.get_by_role("button", name="Lease").click()
    expect(bob.page.get_by_text("Leased Weather search: 2 USDC locked.")).to_be_visible()
    # and tries it twice from the page
    for query in ("weather in Bonn", "weather in Köln"):
        bob.page.get_by_label("Query").fill(query)
        bob.page.get_by_role("button", name="Send").click()
        expect(bob.page.get_by_test_id("try-answer")).to_contain_text("Charged 0.250000 USDC for 1 unit.")
    expect(bob.page.get_by_test_id("lease-spent")).to_have_text("0.500000 USDC")
    expect(bob.page.get_by_test_id("lease-remaining")).to_have_text("1.500000 USDC")
    shot(bob.page, "lease-detail-active")
    # and revokes it
    bob.page.get_by_role("button", name="Revoke").click()
    # then the lease's settlement shows what went where
    expect(bob.page.get_by_text("Lease revoked")).to_be_visible()
    expect(bob.page.get_by_test_id("settlement-released")).to_have_text("0.500000 USDC")
    expect(bob.page.get_by_test_id("settlement-refunded")).to_have_text("1.500000 USDC")
    expect(bob.page.get_by_test_id("settlement-status")).to_contain_text("refunded")
    shot(bob.page, "lease-detail-revoked")

    # and both dashboards show the exact figures
    bob.goto("/console/")
    expect(bob.page.get_by_test_id("USDC-24h-expense")).to_have_text("0.500000 USDC")
    expect(bob.page.get_by_test_id("USDC-24h-net")).to_have_text("-0.500000 USDC")
    expect(bob.page.get_by_test_id("USDC-available-total")).to_have_text("9.500000 USDC")
    expect(bob.page.get_by_test_id("USDC-reserved-total")).to_have_text("0.000000 USDC")
    expect(bob.page.get_by_test_id("USDC-runway")).to_contain_text("lasts 133 days")
    shot(bob.page, "dashboard-consumer")
    alice.goto("/console/")
    expect(alice.page.get_by_test_id("USDC-24h-income")).to_have_text("0.500000 USDC")
    expect(alice.page.get_by_test_id("USDC-30d-net")).to_have_text("0.500000 USDC")
    expect(alice.page.get_by_test_id("USDC-available-total")).to_have_text("0.500000 USDC")
    shot(alice.page, "dashboard-provider")
    alice.page.goto(resource_url)
    expect(alice.page.get_by_test_id("resource-income")).to_have_text("0.500000 USDC")
    alice.goto("/console/ledger/")
    expect(alice.page.get_by_role("cell", name="+0.250000 USDC").first).to_be_visible()
    shot(alice.page, "ledger")


def test_a_task_goes_from_publish_to_bid_award_submit_and_accept(actor_page):
    # given a creator with 20 USDC and a bidder, each signed in with a wallet
    carol, dave = actor_page(), actor_page()
    fund(carol.actor_id, 20)
    sign_in(carol)
    sign_in(dave)

    # when the creator publishes a task with a 5 USDC budget
    carol.goto("/console/tasks/new/")
    carol.page.get_by_label("Title").fill("Translate a README")
    carol.page.get_by_label("Requirements").fill("Into German, keep the code blocks.")
    carol.page.get_by_label("Budget").fill("5")
    carol.page.get_by_role("button", name="Publish").click()
    expect(carol.page.get_by_text("it is open for bids")).to_be_visible()
    task_url = carol.page.url
    # and the bidder bids 4 USDC
    dave.goto("/console/tasks/")
    shot(dave.page, "tasks-list")
    dave.page.get_by_role("link", name="Translate a README").click()
    dave.page.get_by_label("Your price").fill("4")
    dave.page.get_by_role("button", name="Place bid").click()
    expect(dave.page.get_by_text("Bid placed")).to_be_visible()
    # and the creator awards the bid
    carol.page.goto(task_url)
    carol.page.get_by_role("button", name="Award").click()
    expect(carol.page.get_by_text("Bid awarded")).to_be_visible()
    expect(carol.page.get_by_test_id("task-status")).to_contain_text("awarded")
    # and the bidder submits the result
    dave.page.goto(task_url)
    dave.page.get_by_label("Summary").fill("Done; see the artifact.")
    dave.page.get_by_label("Artifact name").fill("README.de.md")
    dave.page.get_by_label("Artifact content").fill("# Liesmich")
    dave.page.get_by_role("button", name="Submit result").click()
    expect(dave.page.get_by_text("Result submitted")).to_be_visible()
    # and the creator accepts it
    carol.page.goto(task_url)
    shot(carol.page, "task-detail-review")
    carol.page.get_by_role("button", name="Accept").click()
    # then the task is closed and paid, and the figures say so on both sides
    expect(carol.page.get_by_text("Result accepted")).to_be_visible()
    expect(carol.page.get_by_test_id("receipt-status")).to_contain_text("settled")
    expect(carol.page.get_by_role("button", name="Accept")).to_have_count(0)
    carol.goto("/console/")
    expect(carol.page.get_by_test_id("USDC-24h-expense")).to_have_text("4.000000 USDC")
    expect(carol.page.get_by_test_id("USDC-available-total")).to_have_text("16.000000 USDC")
    dave.goto("/console/")
    expect(dave.page.get_by_test_id("USDC-7d-income")).to_have_text("4.000000 USDC")


@pytest.mark.parametrize("path", ["/console/overview/", "/console/alerts/", "/console/actors/"])
def test_an_actor_who_is_not_staff_gets_the_403_page_on_staff_pages(actor_page, path):
    # given an actor without the staff role, signed in
    erin = actor_page()
    sign_in(erin)
    # when they open a staff page
    response = erin.goto(path)
    # then the page says why, and the menu does not offer staff pages
    assert response.status == 403
    expect(erin.page.get_by_test_id("refusal")).to_contain_text("this page is for staff")
    expect(erin.page.get_by_role("navigation", name="Console").get_by_role("link", name="Overview")).to_have_count(0)
    if path.endswith("overview/"):
        shot(erin.page, "refused-staff-page")
