"""Wallet sign-in and sign-out in Chromium, with an injected test wallet."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot, sign_in
from web3api.models import ActorToken

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_wallet_sign_in_shows_the_actor_and_sign_out_revokes_its_token(actor_page):
    # given an actor with a browser wallet
    alice = actor_page()
    # when they sign in with the wallet
    sign_in(alice)
    # then every page shows who is signed in, and their roles
    expect(alice.page.get_by_test_id("actor-id")).to_have_text(alice.actor_id)
    expect(alice.page.get_by_text("Roles:")).to_be_visible()
    shot(alice.page, "dashboard-after-sign-in")
    token = ActorToken.objects.get(actor_id=alice.actor_id)
    assert token.revoked_at is None
    # when they sign out
    alice.page.get_by_role("button", name="Sign out").click()
    # then the session's token is revoked and the console asks them to sign in again
    expect(alice.page.get_by_role("button", name="Sign in with wallet")).to_be_visible()
    token.refresh_from_db()
    assert token.revoked_at is not None
    alice.goto("/console/")
    expect(alice.page).to_have_url(alice.base + "/console/signin/?next=%2Fconsole%2F")


def test_without_a_wallet_the_page_says_so(actor_page):
    # given a browser with no wallet
    bob = actor_page(wallet=False)
    bob.goto("/console/signin/")
    # when they try to sign in with a wallet
    bob.page.get_by_role("button", name="Sign in with wallet").click()
    # then the page says what is missing
    expect(bob.page.get_by_text("No wallet found in this browser")).to_be_visible()
    shot(bob.page, "signin-no-wallet")
