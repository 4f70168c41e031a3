"""WEB3_DISABLED_METHODS: a disabled method answers E_FORBIDDEN and says so in list and describe."""

from __future__ import annotations

import pytest

from tests.testapp.models import Counter

pytestmark = pytest.mark.django_db

DISABLED_REASON = "disabled by the operator (WEB3_DISABLED_METHODS)"


def availability(anon, name: str) -> dict:
    items = {i["name"]: i for i in anon.call("web3.capabilities.list").result["items"]}
    return items[name]["availability"]


@pytest.mark.keypath
def test_disabled_method_is_forbidden_and_runs_nothing(alice, settings):
    # given the operator disabled web3.test.increment
    settings.WEB3_DISABLED_METHODS = ["web3.test.increment"]

    # when it is called
    r = alice.call("web3.test.increment", {"name": "off"})

    # then it is E_FORBIDDEN and nothing happened
    assert r.status == 403
    assert r.code == "E_FORBIDDEN"
    assert r.body["error"]["message"] == "web3.test.increment is disabled on this market"
    assert not Counter.objects.filter(name="off").exists()


def test_disabled_method_is_forbidden_before_auth(anon, settings):
    # the kill switch answers first: even without a token, and with GET on a read-only method
    settings.WEB3_DISABLED_METHODS = ["web3.identity.whoami", "web3.siwe.challenge"]
    assert anon.call("web3.identity.whoami").code == "E_FORBIDDEN"
    assert anon.get("web3.identity.whoami").code == "E_FORBIDDEN"
    assert anon.call("web3.siwe.challenge", {"address": "0x" + "ab" * 20}).code == "E_FORBIDDEN"


@pytest.mark.keypath
def test_list_and_describe_show_availability(anon, settings):
    # given one method disabled
    settings.WEB3_DISABLED_METHODS = ["web3.test.increment"]

    # when an agent lists and describes
    listed = anon.call("web3.capabilities.list").result["items"]
    described = anon.call("web3.capabilities.describe", {"name": "web3.test.increment"}).result

    # then the disabled method says so with a reason; every other method is enabled
    by_name = {i["name"]: i["availability"] for i in listed}
    assert by_name["web3.test.increment"] == {"enabled": False, "reason": DISABLED_REASON}
    assert all(a == {"enabled": True} for n, a in by_name.items() if n != "web3.test.increment")
    assert described["availability"] == {"enabled": False, "reason": DISABLED_REASON}


def test_other_methods_keep_working(alice, settings):
    settings.WEB3_DISABLED_METHODS = ["web3.test.increment"]
    assert alice.call("web3.identity.whoami").status == 200
    assert alice.call("web3.status.summary").status == 200


def test_disabling_describe_itself(anon, settings):
    settings.WEB3_DISABLED_METHODS = ["web3.capabilities.describe"]
    r = anon.call("web3.capabilities.describe", {"name": "web3.capabilities.list"})
    assert (r.status, r.code) == (403, "E_FORBIDDEN")
    assert availability(anon, "web3.capabilities.describe") == {"enabled": False, "reason": DISABLED_REASON}


def test_re_enabling_restores_the_method(alice, settings):
    settings.WEB3_DISABLED_METHODS = ["web3.test.increment"]
    assert alice.call("web3.test.increment", {"name": "back"}).code == "E_FORBIDDEN"
    settings.WEB3_DISABLED_METHODS = []
    assert alice.call("web3.test.increment", {"name": "back"}).result == {"name": "back", "value": 1}
    assert availability(alice, "web3.test.increment") == {"enabled": True}
