"""Staff and arbitrator journeys in Chromium: an arbitrator rules on a dispute with the share
slider; staff acknowledge an alert and credit an account; a non-staff actor is refused every staff
page with the 403 page."""

import re

import pytest
from playwright.sync_api import expect

from market.models import Alert, Dispute
from market.selectors.ledger import balances
from tests.browser.conftest import shot, sign_in
from web3api.demo.actors import demo_wallets, step_funds
from web3api.demo.monitor import step_monitor
from web3api.demo.task_market import step_market
from web3api.identity.services import role_grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STAFF_PAGES = [
    "/console/overview/",
    "/console/alerts/",
    "/console/actors/",
    "/console/staff/resources/",
    "/console/staff/leases/",
    "/console/staff/ledger/",
]


@pytest.fixture
def market():
    """The demo's task market: one dispute open (35 USDC), and the alert it trips."""
    wallets = demo_wallets()
    step_funds(wallets, lambda line: None)
    step_market(wallets, lambda line: None)
    step_monitor(wallets, lambda line: None)
    return wallets


def test_an_arbitrator_rules_on_a_dispute(actor_page, market):
    # given an arbitrator who is no party to the open dispute
    judge = actor_page()
    role_grant(actor_id=judge.actor_id, role="arbitrator")
    dispute = Dispute.objects.get(status="dispute_open")
    sign_in(judge, "/console/arbitration/")
    page = judge.page

    # when they open its workspace from the list
    page.get_by_role("link", name=re.compile(f"Open workspace for {dispute.dispute_id[:8]}")).click()
    # then they see the evidence the market attached, and the ruling form
    expect(page.get_by_text("attached by the market").first).to_be_visible()
    expect(page.get_by_test_id("to-payee")).to_have_text("17.500000 USDC")

    # when they move the share to 40% the amounts follow, computed by the server
    page.get_by_label("Deliverer's share").fill("4000")
    expect(page.get_by_test_id("to-payee")).to_have_text("14.000000 USDC")
    expect(page.get_by_test_id("to-payer")).to_have_text("21.000000 USDC")
    page.get_by_label("Rule: split the amount").check()
    page.get_by_label("Rationale").fill("Most cases were covered; some were not.")
    shot(page, "arbitration-workspace")
    page.get_by_role("button", name="Rule", exact=True).click()

    # then the page says what moves and when, and the dispute is resolved at 40%
    expect(page.get_by_text("Ruled: 14.000000 USDC to the deliverer and 21.000000 USDC back")).to_be_visible()
    expect(page.get_by_text("Not sealed yet")).to_be_visible()
    dispute.refresh_from_db()
    assert (dispute.status, dispute.payee_share_bps, dispute.arbitrator_actor_id) == (
        "dispute_resolved",
        4000,
        judge.actor_id,
    )


def test_staff_acknowledge_an_alert_and_credit_an_account(actor_page, market):
    # given staff, and the alert the demo's open dispute fires
    operator = actor_page()
    role_grant(actor_id=operator.actor_id, role="staff")
    alert = Alert.objects.get(rule__name="demo-disputes-open")
    # when they sign in they land on the overview, which shows the alert
    sign_in(operator)
    expect(operator.page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    expect(operator.page.get_by_text("demo-disputes-open").first).to_be_visible()
    shot(operator.page, "staff-overview")

    # when they acknowledge it on the alerts page
    operator.page.get_by_role("navigation", name="Console").get_by_role("link", name="Alerts").click()
    operator.page.get_by_role("button", name="Acknowledge").click()
    # then the page says so, and the alert is theirs
    expect(operator.page.get_by_text(f"Alert {alert.alert_id} (demo-disputes-open) acknowledged")).to_be_visible()
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == ("alert_acknowledged", operator.actor_id)
    shot(operator.page, "staff-alerts")

    # when they credit the bidder 7.25 USDC with a reason
    bidder = market["bidder"].address
    before = balances(bidder)["USDC"]["available"]
    operator.page.get_by_role("link", name="Actors").first.click()
    operator.page.get_by_label("Actor", exact=True).first.fill(bidder)
    operator.page.get_by_label("Amount").fill("7.25")
    operator.page.get_by_label("Reason").fill("Goodwill after an outage")
    operator.page.get_by_role("button", name="Credit account").click()
    # then the page says what happened and the balance holds it
    expect(operator.page.get_by_text(f"Credited 7.250000 USDC to {bidder}: Goodwill after an outage.")).to_be_visible()
    assert balances(bidder)["USDC"]["available"] == before + 7_250_000
    shot(operator.page, "staff-actors")


def test_a_non_staff_actor_is_refused_every_staff_page(actor_page, market):
    # given a signed-in actor without the staff role
    alice = actor_page()
    sign_in(alice)
    expect(alice.page.get_by_test_id("actor-id")).to_have_text(alice.actor_id)  # signed in, on the dashboard
    for path in [*STAFF_PAGES, "/console/arbitration/"]:
        # when they open a staff page, then the 403 page says why (not a stack, not a redirect)
        response = alice.goto(path)
        assert response.status == 403, path
        expect(alice.page.get_by_test_id("refusal")).to_contain_text("this page is for")
    shot(alice.page, "staff-page-refused")
    # and the navigation offers none of them
    nav = alice.page.get_by_role("navigation", name="Console")
    for label in ("Overview", "Alerts", "Actors", "Arbitration"):
        expect(nav.get_by_role("link", name=label)).to_have_count(0)
