"""Who may open which console page: the audience gets it, everyone else a 403 page saying why."""

import pytest
from eth_account import Account

from tests.console.support import console_sign_in
from web3api.identity.services import role_grant

pytestmark = pytest.mark.django_db

STAFF_PAGES = ["/console/overview/", "/console/alerts/", "/console/actors/"]


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_a_non_staff_actor_gets_the_403_page_on_staff_pages(client, path):
    # given a signed-in actor without the staff role
    console_sign_in(client)
    # when they open a staff page
    r = client.get(path)
    # then the answer is the 403 page, saying why
    assert r.status_code == 403
    assert b"this page is for staff" in r.content


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_staff_open_staff_pages(client, path):
    # given a signed-in staff actor
    account = Account.create()
    role_grant(actor_id=account.address.lower(), role="staff")
    console_sign_in(client, account)
    # when / then
    assert client.get(path).status_code == 200


def test_nobody_is_sent_to_sign_in_and_the_sign_in_page_is_public(client):
    r = client.get("/console/tasks/")
    assert (r.status_code, r.headers["Location"]) == (302, "/console/signin/?next=%2Fconsole%2Ftasks%2F")
    assert client.get("/console/signin/").status_code == 200


def test_the_navigation_offers_a_viewer_only_the_pages_they_may_open(client):
    # given a signed-in non-staff actor
    console_sign_in(client)
    # when they open their dashboard
    page = client.get("/console/").content.decode()
    # then the menu has the actor's pages and none of staff's
    assert all(f">{label}</a>" in page for label in ("Dashboard", "Resources", "Leases", "Ledger", "Tasks", "Disputes"))
    assert not any(f">{label}</a>" in page for label in ("Overview", "Alerts", "Actors"))


def test_the_landing_page_shows_live_figures_and_the_ways_in(client):
    page = client.get("/").content.decode()
    assert "Resources on offer" in page and "/console/" in page and "/api/docs/" in page


def test_a_form_without_its_csrf_token_gets_the_403_page_in_words():
    # given a client that enforces CSRF
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    # when a form is posted without the token
    r = client.post("/console/signout/")
    # then the 403 page says what happened
    assert r.status_code == 403 and b"reload the page" in r.content
