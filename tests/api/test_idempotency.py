"""Idempotency-Key as API.md specifies it, through the gateway with the test-only mutating method
`web3.test.increment` (tests/testapp/methods.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from eth_account import Account

from tests.conftest import Api, HeldGate, in_thread
from tests.testapp import methods as test_methods
from tests.testapp.models import Counter
from web3api import idempotency
from web3api.models import IdempotencyRecord, SiweNonce

pytestmark = pytest.mark.django_db

INC = "web3.test.increment"


def value(name: str) -> int | None:
    row = Counter.objects.filter(name=name).first()
    return None if row is None else row.value


@pytest.fixture
def gate():
    """Hold web3.test.increment calls on counter `held` until released."""
    held = HeldGate()
    test_methods.GATE["held"] = held
    yield held
    held.set()
    test_methods.GATE.pop("held", None)


# --- replay and mismatch -------------------------------------------------------------------------


@pytest.mark.keypath
def test_replay_returns_the_stored_answer_with_one_effect(alice):
    # given a call made with an Idempotency-Key
    first = alice.call(INC, {"name": "pay", "by": 7}, idempotency_key="k-1")

    # when the same call is sent again with the same key (params in another order)
    again = alice.call(INC, {"by": 7, "name": "pay"}, idempotency_key="k-1")

    # then the stored status and body come back, marked as a replay, and the effect happened once
    assert first.status == 200 and first.result == {"name": "pay", "value": 7}
    assert again.status == first.status
    assert again.body == first.body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert value("pay") == 7
    record = IdempotencyRecord.objects.get(actor_id=alice.actor_id, method=INC, key="k-1")
    assert (record.state, record.status_code) == ("done", 200)


def test_without_a_key_every_call_has_its_effect(alice):
    alice.call(INC, {"name": "plain"})
    alice.call(INC, {"name": "plain"})
    assert value("plain") == 2
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.keypath
def test_same_key_other_params_is_conflict(alice):
    # given a key used for one call
    alice.call(INC, {"name": "pay", "by": 7}, idempotency_key="k-2")

    # when it is sent with other params
    r = alice.call(INC, {"name": "pay", "by": 8}, idempotency_key="k-2")

    # then it is E_CONFLICT and nothing more happened
    assert r.status == 409
    assert r.code == "E_CONFLICT"
    assert r.body["error"]["details"] == {"reason": "idempotency_key_mismatch"}
    assert value("pay") == 7


def test_default_spelled_out_is_other_params(alice):
    # params are compared as sent (RFC 8785 canonical JSON), not after defaults are applied
    alice.call(INC, {"name": "pay"}, idempotency_key="k-3")
    r = alice.call(INC, {"name": "pay", "by": 1}, idempotency_key="k-3")
    assert r.code == "E_CONFLICT"


# --- which answers are stored ----------------------------------------------------------------------


@pytest.mark.keypath
def test_4xx_answers_are_stored_and_replayed(alice):
    # given a call that the market refuses (409) with a key
    first = alice.call(INC, {"name": "refused", "fail": "conflict"}, idempotency_key="k-4")

    # when it is retried with the same key, after the refusal's cause would be gone
    again = alice.call(INC, {"name": "refused", "fail": "conflict"}, idempotency_key="k-4")

    # then the stored refusal is replayed, not run again
    assert first.status == 409 and first.code == "E_CONFLICT"
    assert (again.status, again.body) == (first.status, first.body)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert IdempotencyRecord.objects.get(key="k-4").status_code == 409
    assert value("refused") is None


def test_invalid_params_400_is_stored_too(alice):
    first = alice.call(INC, {"name": "bad", "by": 0}, idempotency_key="k-5")
    again = alice.call(INC, {"name": "bad", "by": 0}, idempotency_key="k-5")
    assert first.status == 400
    assert (again.status, again.body) == (400, first.body)
    assert again.headers.get("Idempotent-Replayed") == "true"


@pytest.mark.keypath
def test_5xx_is_not_stored_and_a_retry_runs_again(alice):
    # given a call that crashes (500) with a key
    first = alice.call(INC, {"name": "boom", "fail": "crash"}, idempotency_key="k-6")

    # when it is retried with the same key
    again = alice.call(INC, {"name": "boom", "fail": "crash"}, idempotency_key="k-6")

    # then the retry ran again (a fresh failure with its own correlation id), nothing was stored
    assert first.status == 500 and again.status == 500
    assert first.body["error"]["details"]["correlationId"] != again.body["error"]["details"]["correlationId"]
    assert "Idempotent-Replayed" not in again.headers
    assert not IdempotencyRecord.objects.filter(key="k-6").exists()


def test_after_a_5xx_the_key_can_carry_the_call_to_success(alice):
    alice.call(INC, {"name": "boom2", "fail": "crash"}, idempotency_key="k-7")
    # the claim was released, so the key is free for the retry (params are checked against the
    # stored answer only, and none was stored)
    ok = alice.call(INC, {"name": "boom2"}, idempotency_key="k-7")
    assert ok.status == 200 and ok.result["value"] == 1


def test_429_is_not_stored(alice, settings):
    # given a limit of one call a minute
    settings.WEB3_RATE_LIMITS = {INC: "1/m"}
    assert alice.call(INC, {"name": "rl"}, idempotency_key="k-8").status == 200

    # when another key is refused by the limit
    r = alice.call(INC, {"name": "rl"}, idempotency_key="k-9")

    # then no answer is kept for it
    assert r.status == 429
    assert not IdempotencyRecord.objects.filter(key="k-9").exists()


# --- scope ----------------------------------------------------------------------------------------------


@pytest.mark.keypath
def test_key_is_scoped_per_actor(sign_in):
    # given two actors using the same key with the same params
    alice, bob = sign_in(), sign_in()
    a = alice.call(INC, {"name": "shared"}, idempotency_key="same")
    b = bob.call(INC, {"name": "shared"}, idempotency_key="same")

    # then both calls ran: bob does not get alice's answer
    assert a.result["value"] == 1
    assert b.result["value"] == 2
    assert "Idempotent-Replayed" not in b.headers
    assert value("shared") == 2


def test_key_is_scoped_per_method(alice):
    # given a key used on one method
    alice.call(INC, {"name": "m"}, idempotency_key="same")

    # when the same key is sent to another mutating method
    r = alice.call("web3.identity.logout", {}, idempotency_key="same")

    # then that method runs (no conflict, no replay of the other's answer)
    assert r.status == 200 and r.result == {"ok": True}
    assert alice.call("web3.identity.whoami").code == "E_AUTH_REQUIRED"


def test_header_is_ignored_on_auth_none_methods(anon):
    # given an auth:none mutating method called twice with one key (even an invalid one)
    address = Account.create().address
    first = anon.call("web3.siwe.challenge", {"address": address}, idempotency_key="same")
    second = anon.call("web3.siwe.challenge", {"address": address}, idempotency_key="same")
    bad = anon.call("web3.siwe.challenge", {"address": address}, idempotency_key="x" * 300)

    # then each call ran: two nonces, no stored answers
    assert first.status == second.status == bad.status == 200
    assert first.result["nonce"] != second.result["nonce"]
    assert SiweNonce.objects.filter(address=address.lower()).count() == 3
    assert not IdempotencyRecord.objects.exists()


def test_header_is_ignored_on_read_only_methods(alice):
    r1 = alice.call("web3.identity.whoami", {}, idempotency_key="ro")
    r2 = alice.call("web3.identity.whoami", {}, idempotency_key="ro")
    assert r1.status == r2.status == 200
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize("key", ["", "   ", "k" * 256, "tab\there"])
def test_invalid_key_is_invalid_argument(alice, key):
    r = alice.call(INC, {"name": "k"}, idempotency_key=key)
    assert r.status == 400
    assert r.code == "E_INVALID_ARGUMENT"
    assert r.body["error"]["details"]["fields"] == {"Idempotency-Key": "1-255 printable characters"}
    assert value("k") is None


# --- life -------------------------------------------------------------------------------------------------


def test_keys_live_24_hours_then_can_be_reused(client, sign_in):
    # given a call with a key
    account = Account.create()
    alice = sign_in(account)
    first = alice.call(INC, {"name": "life"}, idempotency_key="daily")
    assert first.result["value"] == 1

    # when the same call is sent just before 24 h: it is a replay
    with time_machine.travel(timezone.now() + timedelta(hours=23, minutes=59), tick=False):
        before = alice.call(INC, {"name": "life"}, idempotency_key="daily")
    # and after 24 h (with a new sign-in: the token also lived 24 h) it runs again
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1), tick=False):
        alice_again = sign_in(account)
        after = alice_again.call(INC, {"name": "life"}, idempotency_key="daily")
        mismatch_free = alice_again.call(INC, {"name": "life", "by": 5}, idempotency_key="daily")

    # then
    assert before.body == first.body and before.headers.get("Idempotent-Replayed") == "true"
    assert after.status == 200 and after.result["value"] == 2
    assert "Idempotent-Replayed" not in after.headers
    assert mismatch_free.code == "E_CONFLICT"  # the re-used key now belongs to the new call
    assert value("life") == 2


def test_purge_removes_expired_keys(alice):
    alice.call(INC, {"name": "p"}, idempotency_key="old")
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1), tick=False):
        assert idempotency.purge_expired() == {"idempotencyKeys": 1}
    assert not IdempotencyRecord.objects.exists()


# --- in flight ------------------------------------------------------------------------------------------


def test_duplicate_of_an_unfinished_claim_is_conflict(alice, settings):
    # given a claim in flight for this actor, method, key and params (another process running it)
    settings.WEB3_IDEMPOTENCY_WAIT_SEC = 0.2
    params = {"name": "busy"}
    claimed = idempotency.claim(actor_id=alice.actor_id, method=INC, key="busy", phash=idempotency.params_hash(params))
    assert isinstance(claimed, IdempotencyRecord)

    # when the duplicate arrives
    r = alice.call(INC, params, idempotency_key="busy")

    # then after a short wait it is E_CONFLICT, and it did not run
    assert r.status == 409
    assert r.code == "E_CONFLICT"
    assert r.body["error"]["details"] == {"reason": "idempotency_key_in_flight"}
    assert value("busy") is None


@pytest.mark.concurrency
@pytest.mark.keypath
@pytest.mark.django_db(transaction=True)
def test_in_flight_duplicate_is_conflict_then_replays(transactional_db, alice, gate, settings):
    # given a call with a key, held inside its transaction (claim committed, effect not)
    settings.WEB3_IDEMPOTENCY_WAIT_SEC = 0.5
    params = {"name": "held", "by": 3, "holdMs": 5000}
    first_thread, first = in_thread(lambda: Api(Client(), alice.token).call(INC, params, idempotency_key="race"))
    assert gate.entered.wait(15), "the first call never reached its hold"

    # when the duplicate arrives while it is still running
    try:
        dup = Api(Client(), alice.token).call(INC, params, idempotency_key="race")
    finally:
        gate.set()
    first_thread.join(15)

    # then the duplicate is E_CONFLICT (in flight), the first finishes, and a later retry replays it
    assert dup.status == 409
    assert dup.body["error"]["details"] == {"reason": "idempotency_key_in_flight"}
    assert "error" not in first, first.get("error")
    assert first["value"].status == 200 and first["value"].result == {"name": "held", "value": 3}
    retry = Api(Client(), alice.token).call(INC, params, idempotency_key="race")
    assert (retry.status, retry.body) == (200, first["value"].body)
    assert value("held") == 3


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_duplicate_waiting_for_the_first_gets_its_answer(transactional_db, alice, gate, settings):
    # given a held first call and a duplicate allowed to wait long enough
    settings.WEB3_IDEMPOTENCY_WAIT_SEC = 20
    params = {"name": "held", "holdMs": 5000}
    first_thread, first = in_thread(lambda: Api(Client(), alice.token).call(INC, params, idempotency_key="w"))
    assert gate.entered.wait(15)
    dup_thread, dup = in_thread(lambda: Api(Client(), alice.token).call(INC, params, idempotency_key="w"))

    # when the first finishes while the duplicate waits
    dup_thread.join(0.3)
    gate.set()
    first_thread.join(15)
    dup_thread.join(25)

    # then the duplicate receives the first's answer; one effect
    assert first["value"].status == 200
    assert dup["value"].status == 200
    assert dup["value"].body == first["value"].body
    assert dup["value"].headers.get("Idempotent-Replayed") == "true"
    assert value("held") == 1


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_simultaneous_duplicates_have_one_effect(transactional_db, alice, settings):
    # given six clients sending the same keyed call at once
    settings.WEB3_IDEMPOTENCY_WAIT_SEC = 20
    params = {"name": "burst", "by": 2, "holdMs": 50}
    threads = [
        in_thread(lambda: Api(Client(), alice.token).call(INC, params, idempotency_key="burst")) for _ in range(6)
    ]
    for thread, _ in threads:
        thread.join(60)
    responses = [out["value"] for _, out in threads]

    # then all get the same answer and the counter moved once
    assert [r.status for r in responses] == [200] * 6
    assert {r.result["value"] for r in responses} == {2}
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 5
    assert value("burst") == 2
