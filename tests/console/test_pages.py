"""Every console page of the demo market, as each demo actor sees it: it renders (never a 500),
refuses who may not see it, and never contains a provider endpoint or access token (the canary)."""

from __future__ import annotations

import re
from collections import deque

import pytest
from django.test import Client
from eth_account import Account

from tests.console.support import console_sign_in
from web3api.demo import load_demo
from web3api.demo.console import STORAGE_TOKEN
from web3api.demo.provider import DEFAULT_PORT

pytestmark = pytest.mark.django_db

LINK = re.compile(r'href="(/console/[^"?#]*)')
CANARIES = [f"localhost:{DEFAULT_PORT}", f"127.0.0.1:{DEFAULT_PORT}", STORAGE_TOKEN, "/blob", "endpoint_sealed"]
ACTORS = ["operator", "provider", "consumer", "creator", "bidder", "arbitrator"]


@pytest.fixture
def demo():
    from web3api.demo import demo_wallets

    load_demo(lambda line: None)
    return demo_wallets()


def crawl(client: Client, start: str = "/console/", limit: int = 80) -> dict[str, int]:
    """Every /console/ page reachable by links from `start` (GET only), with its status."""
    seen: dict[str, int] = {}
    queue = deque([start, "/"])
    while queue and len(seen) < limit:
        path = queue.popleft()
        if path in seen or path.endswith((".svg", "/signout/")):
            continue
        r = client.get(path, follow=False)
        seen[path] = r.status_code
        body = r.content.decode()
        for canary in CANARIES:
            assert canary not in body, f"{path} shows {canary!r}"
        if r.status_code == 200:
            queue.extend(LINK.findall(body))
    return seen


@pytest.mark.parametrize("name", ACTORS)
def test_every_page_a_demo_actor_reaches_renders_and_shows_no_endpoint_or_token(client, demo, name):
    # given a demo actor signed in with its wallet
    console_sign_in(client, Account.from_key(demo[name].key))
    # when they follow every link of the console
    statuses = crawl(client)
    # then every page answers 200 (a staff-only page is never linked for non-staff; staff's
    # /console/ is the way to their overview), and none contains an endpoint or token (checked
    # while crawling)
    assert len(statuses) > 8
    redirects = {"/console/": 302} if name == "operator" else {}
    assert {p: s for p, s in statuses.items() if s != 200} == redirects


def test_the_onboarding_form_refused_comes_back_without_endpoint_and_token(client, demo):
    # given a provider filling the onboarding form with a price that is not a number
    console_sign_in(client, Account.from_key(demo["provider"].key))
    secret_endpoint, secret_token = "http://203.0.113.9:7000/secret-path", "tok-write-only-canary"
    form = {
        "name": "Mine",
        "kind": "model",
        "backend": "openai-compat",
        "endpoint": secret_endpoint,
        "access_token": secret_token,
        "unit": "token",
        "unit_price": "not-a-price",
        "currency": "USDC",
        "action": "publish",
    }
    # when it is refused, and when a Test call is made
    refused = client.post("/console/resources/new/", form)
    tested = client.post("/console/resources/new/", {**form, "action": "test"})
    fragment = client.post("/console/resources/test-call/", form)
    # then the page says what is wrong, and no answer carries the endpoint or the token
    assert refused.status_code == 400 and b"field-error" in refused.content
    for r in (refused, tested, fragment):
        body = r.content.decode()
        assert secret_endpoint not in body and "203.0.113.9" not in body and secret_token not in body


def test_a_lease_is_not_found_for_an_actor_who_is_not_a_party(client, demo):
    # given the consumer's lease, and an outsider signed in
    from market.models import Lease

    lease = Lease.objects.filter(consumer_actor_id=demo["consumer"].address).first()
    console_sign_in(client)
    # when the outsider opens it
    r = client.get(f"/console/leases/{lease.lease_id}/")
    # then it does not exist for them
    assert r.status_code == 404 and b"no such lease" in r.content
