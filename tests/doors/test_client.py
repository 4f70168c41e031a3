"""The Python client (client/, openclaw_market) against a live market: every method reachable
through the calls it generates from describe, pages, retries on 429 with Retry-After, an exception
per error code, signing in again when the token is gone."""

from __future__ import annotations

import inspect

import pytest
from eth_account import Account
from openclaw_market import Conflict, InvalidArgument, Market, MarketError, NotFound, QuotaExceeded
from openclaw_market.client import MethodCall

from tests.doors.conftest import RATE_LIMITED

PLACEHOLDER = {"string": "x", "integer": 1, "number": 1, "boolean": False, "object": {}, "array": []}


def _placeholder(spec: dict):
    kind = spec.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if "enum" in spec:
        return spec["enum"][0]
    return PLACEHOLDER.get(kind, "x")


def _refusal(call, params) -> MarketError | None:
    try:
        call(**params)
    except MarketError as exc:
        return exc
    return None


def _calls(call, times: int, **params) -> None:
    for _ in range(times):
        call(**params)


@pytest.fixture
def market(live):
    wallet = Account.create()
    m = Market(live.base, wallet=wallet)
    m.sign_in()
    live.credit(m.actor_id, "50")
    yield m
    m.close()


def test_every_method_is_a_generated_call_that_reaches_the_market(market):
    # given the market's catalogue, read by the client itself
    names = [n for n in market.catalogue() if not n.startswith("web3.test.")]
    assert len(names) > 40

    for name in names:
        _, group, verb = name.split(".")
        # when the method is taken as an attribute and called with placeholder values of its params
        call = getattr(getattr(market, group), verb)
        assert isinstance(call, MethodCall)
        assert set(inspect.signature(call).parameters) == set(call.properties), name
        params = {p: _placeholder(call.properties[p]) for p in call.required}
        refused = _refusal(call, params)
        # then the market answered it as that method (its own errors), never "no such method"
        if refused is not None:
            assert refused.code in call.described["errors"], (name, refused.code, refused.message)
            assert "no method named" not in refused.message, name


def test_calls_are_typed_by_the_params_schema(market):
    # given a generated call
    publish = market.market.publishTask

    # when it is called with a param the method does not take, or without a required one
    # then the client refuses before sending, naming them
    with pytest.raises(TypeError, match="unknown params"):
        publish(title="t", requirements="r", budget="1.00", currency="USDC", ttlSec=60, colour="red")
    with pytest.raises(TypeError, match="missing params"):
        publish(title="t")
    assert "budget" in inspect.signature(publish).parameters
    assert publish.__doc__.startswith("Post a task")


def test_pages_are_iterated_to_the_end(market):
    # given seven tasks of one creator
    for i in range(7):
        market.market.publishTask(title=f"t{i}", requirements="r", budget="1.00", currency="USDC", ttlSec=600)

    # when its list is iterated three at a time
    titles = [t["title"] for t in market.market.listTasks.iter(creatorActorId=market.actor_id, limit=3)]
    page = market.market.listTasks(creatorActorId=market.actor_id, limit=3)

    # then every task comes once, newest first, over three pages
    assert titles == [f"t{i}" for i in reversed(range(7))]
    assert len(page["items"]) == 3
    assert page["nextCursor"]


def test_a_429_is_retried_after_its_retry_after(live):
    # given a method limited to 2 calls a second, and a client that records its waits
    waits = []
    m = Market(live.base, wallet=Account.create(), on_wait=lambda method, sec: waits.append((method, sec)))
    _, group, verb = RATE_LIMITED.split(".")
    call = getattr(getattr(m, group), verb)

    # when it calls it six times at once
    answers = [call(actorId=m.actor_id or "0x" + "2" * 40) for _ in range(6)]

    # then every call succeeded, the client having waited as long as the market said
    assert len(answers) == 6
    assert waits
    assert all(method == RATE_LIMITED and 0 < sec <= 1 for method, sec in waits)

    # and a client told not to retry sees the E_QUOTA_EXCEEDED with its retryAfterSec
    impatient = Market(live.base, token=m.token, retries=0)
    limited = getattr(getattr(impatient, group), verb)
    with pytest.raises(QuotaExceeded) as refused:
        _calls(limited, 6, actorId="0x" + "2" * 40)
    assert refused.value.details["retryAfterSec"] >= 1
    assert refused.value.status == 429
    m.close()
    impatient.close()


def test_each_error_code_is_its_own_exception(market):
    # when the market refuses calls for different reasons
    # then each comes back as the exception of its code, with the details
    with pytest.raises(NotFound):
        market.market.getTask(taskId="task_nosuch")
    with pytest.raises(InvalidArgument) as bad:
        market.market.publishTask(title="t", requirements="r", budget="1.0000001", currency="USDC", ttlSec=60)
    assert "budget" in bad.value.details["fields"]
    task = market.market.publishTask(title="t", requirements="r", budget="1.00", currency="USDC", ttlSec=600)
    market.market.cancelTask(taskId=task["taskId"])
    with pytest.raises(Conflict):
        market.market.cancelTask(taskId=task["taskId"])


def test_a_mutating_call_given_one_key_has_one_effect(market):
    # when the same publish is sent twice with one Idempotency-Key
    params = {"title": "keyed", "requirements": "r", "budget": "1.00", "currency": "USDC", "ttlSec": 600}
    first = market.market.publishTask(idempotency_key="k-1", **params)
    second = market.market.publishTask(idempotency_key="k-1", **params)
    # and without one (each call gets its own)
    third = market.market.publishTask(**params)

    # then the first two are one task, the third another
    assert first["taskId"] == second["taskId"] != third["taskId"]


def test_the_client_signs_in_again_when_its_token_is_gone(market):
    # given a client whose token was logged out
    old = market.token
    market.identity.logout()

    # when it calls again
    me = market.identity.whoami()

    # then it signed in again with its wallet and the call went through
    assert me["actorId"] == market.actor_id
    assert market.token != old


def test_a_token_client_without_a_wallet_gets_auth_required(live, market):
    # given a client with only a token, since logged out
    token_only = Market(live.base, token=market.token)
    assert token_only.identity.whoami()["actorId"] == market.actor_id
    token_only.identity.logout()

    # when it calls again, then it cannot sign in by itself
    with pytest.raises(MarketError) as refused:
        token_only.identity.whoami()
    assert refused.value.code == "E_AUTH_REQUIRED"
    token_only.close()
