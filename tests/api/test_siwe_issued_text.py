"""Only the exact text web3.siwe.challenge issued signs in: edits signed by the right wallet, text
longer than any issued message and every other SIWE refusal are E_AUTH_REQUIRED, and every
E_AUTH_REQUIRED says how to sign in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import siwe
from django.test import Client
from eth_account import Account

from tests.conftest import Api, sign
from web3api.models import ActorToken, SiweNonce

pytestmark = pytest.mark.django_db

SIGN_IN = {"header": "Authorization: Bearer <token>", "signIn": ["web3.siwe.challenge", "web3.siwe.verify"]}


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def challenge(anon: Api, account) -> dict:
    r = anon.call("web3.siwe.challenge", {"address": account.address})
    assert r.status == 200, r.body
    return r.result


def verify(anon: Api, message: str, signature: str):
    return anon.call("web3.siwe.verify", {"message": message, "signature": signature})


def reissued(message: str, **changes) -> str:
    """The issued message with some fields changed, serialised by siwe itself (a valid EIP-4361
    message a wallet would sign)."""
    data = siwe.SiweMessage.from_message(message=message).model_dump()
    data.update(changes)
    return siwe.SiweMessage(**data).prepare_message()


def expires_in_30_days(message: str) -> str:
    issued_at = datetime.fromisoformat(siwe.SiweMessage.from_message(message=message).issued_at.replace("Z", "+00:00"))
    return reissued(message, expiration_time=iso(issued_at + timedelta(days=30)))


EDITS = {
    "statement replaced": lambda m, a: reissued(m, statement="Sign in and let the bearer spend everything."),
    "resources added": lambda m, a: reissued(m, resources=["https://evil.example/grant/all"]),
    "request id added": lambda m, a: reissued(m, request_id="a-request-of-the-attacker"),
    "expiration time removed": lambda m, a: reissued(m, expiration_time=None),
    "expiration time 30 days out": lambda m, a: expires_in_30_days(m),
    "address in lowercase": lambda m, a: m.replace(a.address, a.address.lower()),
    "trailing newline": lambda m, a: m + "\n",
    "crlf line ends": lambda m, a: m.replace("\n", "\r\n"),
}


def assert_refused_with_sign_in_hint(r) -> None:
    assert r.status == 401, r.body
    assert r.code == "E_AUTH_REQUIRED"
    assert "web3.siwe.challenge" in r.body["error"]["message"]
    assert r.body["error"]["details"] == SIGN_IN


@pytest.mark.keypath
@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edited_message_signed_by_the_wallet_is_refused(anon, edit):
    # given a challenge, and an edit of its message signed by the very wallet it was issued to
    account = Account.create()
    ch = challenge(anon, account)
    edited = EDITS[edit](ch["message"], account)
    assert edited != ch["message"]

    # when the edited text is verified
    r = verify(anon, edited, sign(account, edited))

    # then it is E_AUTH_REQUIRED saying how to sign in, no token exists and the nonce is unused
    assert_refused_with_sign_in_hint(r)
    assert not ActorToken.objects.filter(actor_id=account.address.lower()).exists()
    assert SiweNonce.objects.get(nonce=ch["nonce"]).used_at is None
    # and the issued text itself still signs in, once
    assert verify(anon, ch["message"], sign(account, ch["message"])).status == 200


@pytest.mark.parametrize("size", [1025, 4096, 64 * 1024])
def test_a_message_longer_than_any_issued_is_refused(anon, size):
    # given an issued message padded with Resources to `size` characters, signed by its wallet
    account = Account.create()
    ch = challenge(anon, account)
    text = ch["message"] + "\nResources:"
    while len(text) < size:
        text += "\n- https://x.example/" + "a" * 40
    text = text[:size]

    # when it is verified
    r = verify(anon, text, sign(account, text))

    # then it is E_AUTH_REQUIRED (not E_INVALID_ARGUMENT: any SIWE rejection is), naming the cap
    assert_refused_with_sign_in_hint(r)
    assert "longer than 1024 characters" in r.body["error"]["message"]
    assert SiweNonce.objects.get(nonce=ch["nonce"]).used_at is None


def test_a_message_that_is_not_unicode_text_is_invalid_argument_not_a_500(anon):
    # a lone surrogate (valid JSON, not text): the param is malformed, as the descriptor says
    account = Account.create()
    ch = challenge(anon, account)
    text = ch["message"].replace("Sign in", "Sign \ud800in")
    r = verify(anon, text, "0x" + "11" * 65)
    assert r.status == 400, r.body
    assert set(r.body["error"]["details"]["fields"]) == {"message"}


def test_the_issued_message_sent_to_another_host_is_refused(anon):
    # given a message issued on host testserver, signed by its wallet
    account = Account.create()
    ch = challenge(anon, account)

    # when it is verified through another host name of the market
    other = Api(Client(HTTP_HOST="localhost"))
    r = verify(other, ch["message"], sign(account, ch["message"]))

    # then the domain check refuses it, and it still works on its own host
    assert_refused_with_sign_in_hint(r)
    assert r.body["error"]["message"].startswith("the message is for another domain")
    assert verify(anon, ch["message"], sign(account, ch["message"])).status == 200


def test_a_chain_dropped_after_the_challenge_is_refused(anon, settings):
    # given a challenge on chain 8453, which the market then stops accepting
    settings.WEB3_CHAIN_IDS = [1, 8453]
    account = Account.create()
    r = anon.call("web3.siwe.challenge", {"address": account.address, "chainId": 8453})
    message = r.result["message"]
    settings.WEB3_CHAIN_IDS = [1]

    # when its signed message is verified
    r = verify(anon, message, sign(account, message))

    # then it is refused
    assert_refused_with_sign_in_hint(r)
    assert r.body["error"]["message"].startswith("the chain id is no longer accepted here")


def test_a_replay_is_refused_with_the_hint(anon):
    account = Account.create()
    ch = challenge(anon, account)
    signature = sign(account, ch["message"])
    assert verify(anon, ch["message"], signature).status == 200
    r = verify(anon, ch["message"], signature)
    assert_refused_with_sign_in_hint(r)
    assert r.body["error"]["message"].startswith("the nonce was already used or has expired")


# --- every E_AUTH_REQUIRED says how to sign in ----------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer ocw_not-a-token"])
def test_a_call_without_a_usable_token_names_the_header_and_the_sign_in_calls(anon, authorization):
    # given a call to a method that needs an actor, with no or a bad Authorization header
    headers = {"Authorization": authorization} if authorization else {}

    # when it is made
    r = anon.call("web3.identity.whoami", headers=headers)

    # then the refusal names the header and web3.siwe.challenge / web3.siwe.verify
    assert r.status == 401, r.body
    assert r.code == "E_AUTH_REQUIRED"
    message = r.body["error"]["message"]
    assert "Authorization: Bearer <token>" in message
    assert "web3.siwe.challenge then web3.siwe.verify" in message
    assert r.body["error"]["details"] == SIGN_IN


def test_a_logged_out_token_is_told_how_to_sign_in_again(alice):
    assert alice.call("web3.identity.logout").status == 200
    r = alice.call("web3.identity.whoami")
    assert r.code == "E_AUTH_REQUIRED"
    assert r.body["error"]["message"].startswith("the token is invalid, expired or revoked")
    assert r.body["error"]["details"] == SIGN_IN


# --- the self-description says it ----------------------------------------------------------------


def test_describe_of_verify_states_the_refused_changes_and_the_cap(anon):
    # when a client reads web3.siwe.verify's descriptor
    d = anon.call("web3.capabilities.describe", {"name": "web3.siwe.verify"}).result

    # then the message param states its length cap
    message = d["paramsSchema"]["properties"]["message"]
    assert message["type"] == "string"
    assert message["maxLength"] == 1024 and message["minLength"] == 1
    # and the description says which changes are refused and that each refusal is E_AUTH_REQUIRED
    text = d["description"]
    assert "Only the exact text web3.siwe.challenge issued signs in" in text
    for change in (
        "statement",
        "Resources",
        "Request ID",
        "Expiration Time removed or moved",
        "address in another letter case",
        "over 1024 characters",
    ):
        assert change in text
    assert "Every refusal is E_AUTH_REQUIRED" in text
    assert "E_AUTH_REQUIRED" in d["errors"]
