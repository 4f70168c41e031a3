"""Rate limits per (actor or client address, method): E_QUOTA_EXCEEDED with retryAfterSec and a
Retry-After header."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from tests.conftest import API, Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen():
    """The clock stopped 10 s into a minute, so a 60 s window has exactly 50 s left."""
    start = timezone.now().replace(second=10, microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(start, tick=False) as traveller:
        yield traveller


@pytest.mark.keypath
def test_over_the_limit_is_quota_exceeded_with_retry_after(frozen, sign_in, settings):
    # given a limit of 2 calls a minute on whoami
    settings.WEB3_RATE_LIMITS = {"web3.identity.whoami": "2/m"}
    alice = sign_in()

    # when alice calls it three times in one minute
    first, second, third = (alice.call("web3.identity.whoami") for _ in range(3))

    # then the third is E_QUOTA_EXCEEDED (429) saying when to retry, in the body and the header
    assert (first.status, second.status) == (200, 200)
    assert third.status == 429
    assert third.code == "E_QUOTA_EXCEEDED"
    assert third.body["error"]["details"] == {"retryAfterSec": 50, "limit": 2, "periodSec": 60}
    assert third.headers["Retry-After"] == "50"


def test_limit_is_per_actor(frozen, sign_in, settings):
    # given alice has used up her limit
    settings.WEB3_RATE_LIMITS = {"web3.identity.whoami": "2/m"}
    alice, bob = sign_in(), sign_in()
    for _ in range(2):
        assert alice.call("web3.identity.whoami").status == 200
    assert alice.call("web3.identity.whoami").status == 429

    # when bob calls the same method
    r = bob.call("web3.identity.whoami")

    # then bob has his own allowance
    assert r.status == 200


def test_limit_is_per_method(frozen, sign_in, settings):
    # given alice has used up her limit on whoami
    settings.WEB3_RATE_LIMITS = {"web3.identity.whoami": "1/m"}
    alice = sign_in()
    alice.call("web3.identity.whoami")
    assert alice.call("web3.identity.whoami").code == "E_QUOTA_EXCEEDED"

    # when she calls another method
    r = alice.call("web3.status.summary")

    # then it has its own allowance
    assert r.status == 200


def test_the_next_window_allows_calls_again(frozen, sign_in, settings):
    settings.WEB3_RATE_LIMITS = {"web3.identity.whoami": "1/m"}
    alice = sign_in()
    alice.call("web3.identity.whoami")
    assert alice.call("web3.identity.whoami").status == 429

    frozen.shift(timedelta(seconds=50))

    assert alice.call("web3.identity.whoami").status == 200


def test_per_second_limit(frozen, sign_in, settings):
    settings.WEB3_RATE_LIMITS = {"web3.test.increment": "3/s"}
    alice = sign_in()
    codes = [alice.call("web3.test.increment", {"name": "rps"}).status for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = alice.call("web3.test.increment", {"name": "rps"})
    assert refused.body["error"]["details"]["retryAfterSec"] == 1
    assert refused.headers["Retry-After"] == "1"


def test_anonymous_calls_are_limited_per_client_address(frozen, settings, db):
    # given a limit of 3 a minute on an auth:none method
    settings.WEB3_RATE_LIMITS = {"web3.capabilities.list": "3/m"}
    client = Client()

    def call(addr):
        r = client.post(API + "web3.capabilities.list", data="{}", content_type="application/json", REMOTE_ADDR=addr)
        return r.status_code, json.loads(r.content)

    # when one address calls four times
    statuses = [call("192.0.2.1")[0] for _ in range(4)]

    # then the fourth is refused, while another address is still served
    assert statuses == [200, 200, 200, 429]
    assert call("192.0.2.1")[1]["error"]["code"] == "E_QUOTA_EXCEEDED"
    assert call("192.0.2.2")[0] == 200


def test_declared_limit_applies_without_override(frozen, anon, settings):
    # web3.siwe.challenge declares 60/m
    address = "0x" + "ab" * 20
    statuses = [anon.call("web3.siwe.challenge", {"address": address}).status for _ in range(61)]
    assert statuses == [200] * 60 + [429]


def test_describe_reports_the_effective_limit(anon, settings):
    settings.WEB3_RATE_LIMITS = {"web3.identity.whoami": "2/m"}
    assert anon.call("web3.capabilities.describe", {"name": "web3.identity.whoami"}).result["rateLimit"] == "2/m"
    assert anon.call("web3.capabilities.describe", {"name": "web3.siwe.challenge"}).result["rateLimit"] == "60/m"


def test_refused_calls_do_not_run(frozen, sign_in, settings):
    from tests.testapp.models import Counter

    settings.WEB3_RATE_LIMITS = {"web3.test.increment": "1/m"}
    alice = sign_in()
    alice.call("web3.test.increment", {"name": "once"})
    assert alice.call("web3.test.increment", {"name": "once"}).status == 429
    assert Counter.objects.get(name="once").value == 1


def test_api_without_token_is_not_counted_against_an_actor(frozen, sign_in, settings):
    # an anonymous caller hitting an actor method is refused before being counted for anyone
    settings.WEB3_RATE_LIMITS = {"web3.identity.whoami": "1/m"}
    alice = sign_in()
    Api(alice.client).call("web3.identity.whoami")
    assert alice.call("web3.identity.whoami").status == 200


def test_the_limit_fails_open_when_its_counters_cannot_be_reached(frozen, sign_in, settings):
    # given a limit of 2 calls a minute, and the cache its counters live in unreachable (a Redis
    # on a closed port: connection refused)
    settings.WEB3_RATE_LIMITS = {"web3.identity.whoami": "2/m"}
    alice = sign_in()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }

    # when alice calls it three times in one minute
    answers = [alice.call("web3.identity.whoami") for _ in range(3)]

    # then every call goes through: the limit guards the servers, not money (README "Faults")
    assert [a.status for a in answers] == [200, 200, 200]
