"""The gateway on DRF's hooks (authentication, permission and throttle classes): the order of its
checks, a console session that nothing signs out, and every refusal as the envelope, counted."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from market.errors import CODES
from tests.conftest import API, Api
from tests.testapp.models import Counter
from web3api.errors import HTTP_STATUS
from web3api.models import ConsoleActor

pytestmark = pytest.mark.django_db


def requests_total(client: Client, method: str, code: str) -> float:
    text = client.get("/metrics").content.decode()
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "web3_requests_total" and s.labels == {"method": method, "code": code}
    )


@pytest.fixture
def console_user(db):
    user = get_user_model().objects.create_user(username="clerk", password="pw-not-used-here")
    ConsoleActor.objects.create(user=user, actor_id="0x" + "c1" * 20)
    return user


@pytest.fixture
def session_client(console_user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(console_user)
    return client


# --- the console session -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Authorization": "Bearer {token}"}, 200),  # another caller's bearer token wins
        ({"Authorization": "Bearer nonsense"}, 401),  # a bad token is refused
        ({}, 403),  # the session itself, POSTing without the CSRF token
    ],
)
def test_the_console_user_stays_signed_in_whatever_the_gateway_decides(
    session_client, console_user, alice, headers, status
):
    # given a signed-in console user
    headers = {k: v.format(token=alice.token) for k, v in headers.items()}

    # when its browser calls a method with the session cookie and these headers
    r = session_client.post(
        API + "web3.test.increment", data='{"name": "s"}', content_type="application/json", headers=headers
    )

    # then the gateway answers as it should, and the request still belongs to the console user
    assert r.status_code == status
    assert r.wsgi_request.user == console_user
    assert r.wsgi_request.user.is_authenticated


def test_a_console_user_linked_to_no_actor_may_still_call_auth_none_methods(db):
    # given a signed-in console user that is not linked to an actor
    user = get_user_model().objects.create_user(username="unlinked", password="pw-not-used-here")
    client = Client()
    client.force_login(user)

    # when it calls a method that needs nobody
    r = Api(client).call("web3.capabilities.list")

    # then it is served: an auth:none method reads no credentials
    assert r.status == 200


def test_an_auth_none_method_ignores_a_bad_token(client, db):
    # given a stale token left in a client's Authorization header
    r = Api(client, "ocw_stale").call("web3.siwe.challenge", {"address": "0x" + "ab" * 20})

    # then signing in again is not stopped by it
    assert r.status == 200


# --- the order of the checks ----------------------------------------------------------------------


def test_a_caller_without_the_role_is_refused_before_it_is_counted(sign_in, settings):
    # given a limit of one call a minute on a staff method
    settings.WEB3_RATE_LIMITS = {"web3.monitor.listRules": "1/m"}
    alice = sign_in()

    # when a caller without the staff role calls it twice
    first, second = (alice.call("web3.monitor.listRules") for _ in range(2))

    # then both are E_FORBIDDEN (the role is checked before the limit counts the call)
    assert (first.code, second.code) == ("E_FORBIDDEN", "E_FORBIDDEN")
    assert second.body["error"]["message"] == "web3.monitor.listRules needs the staff role"


def test_the_limit_is_checked_before_the_params(alice, settings):
    # given the limit on web3.test.increment used up
    settings.WEB3_RATE_LIMITS = {"web3.test.increment": "1/m"}
    assert alice.call("web3.test.increment", {"name": "order"}).status == 200

    # when the next call also has params that are not valid
    r = alice.call("web3.test.increment", {"name": "order", "by": 0, "bogus": 1})

    # then the limit answers, and nothing ran
    assert r.code == "E_QUOTA_EXCEEDED"
    assert Counter.objects.get(name="order").value == 1


def test_the_limit_counts_calls_whose_body_is_refused(alice, settings):
    # given a limit of one call a minute
    settings.WEB3_RATE_LIMITS = {"web3.test.increment": "1/m"}

    # when a first call's body is not JSON, and a second call is good
    bad = alice.client.post(
        API + "web3.test.increment",
        data="{nope",
        content_type="application/json",
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    r = alice.call("web3.test.increment", {"name": "after-bad-body"})

    # then the first counted (the body is read after the limit) and the second is over it
    assert bad.status_code == 400
    assert r.code == "E_QUOTA_EXCEEDED"


# --- every refusal as the envelope, counted ----------------------------------------------------------


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "text/html, */*;q=0.1"])
def test_any_accept_header_gets_the_json_envelope(client, db, accept):
    # given a client that asks for something other than JSON
    r = client.get(API + "web3.capabilities.list", headers={"Accept": accept})

    # then the answer is still the JSON envelope, not a refusal of the header
    assert r.status_code == 200
    assert r["Content-Type"] == "application/json"
    assert json.loads(r.content)["ok"] is True


def test_refusals_of_who_and_how_often_are_counted_in_metrics(client, alice, settings):
    # given the counts before, and a limit of one call a minute on whoami
    settings.WEB3_RATE_LIMITS = {"web3.identity.whoami": "1/m"}
    before_auth = requests_total(client, "web3.identity.whoami", "E_AUTH_REQUIRED")
    before_quota = requests_total(client, "web3.identity.whoami", "E_QUOTA_EXCEEDED")

    # when an anonymous call and a call over the limit are refused
    assert Api(client).call("web3.identity.whoami").code == "E_AUTH_REQUIRED"
    alice.call("web3.identity.whoami")
    assert alice.call("web3.identity.whoami").code == "E_QUOTA_EXCEEDED"

    # then /metrics counts each under its method and code
    assert requests_total(client, "web3.identity.whoami", "E_AUTH_REQUIRED") == before_auth + 1
    assert requests_total(client, "web3.identity.whoami", "E_QUOTA_EXCEEDED") == before_quota + 1


def test_every_code_has_its_http_status():
    # the market's codes and the gateway's status map name the same codes
    assert set(HTTP_STATUS) == set(CODES)
