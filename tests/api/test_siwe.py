"""Sign-In with Ethereum through the gateway: the happy path and every rejection."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
import siwe
import time_machine
from django.test import Client
from django.utils import timezone
from eth_account import Account

from tests.conftest import Api, in_thread, sign
from web3api.models import ActorToken, SiweNonce

pytestmark = pytest.mark.django_db


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def challenge(anon: Api, account, **params) -> dict:
    r = anon.call("web3.siwe.challenge", {"address": account.address, **params})
    assert r.status == 200, r.body
    return r.result


def craft(message: str, **changes) -> str:
    """The challenge's message with some fields changed (siwe field names)."""
    data = siwe.SiweMessage.from_message(message=message).model_dump()
    data.update(changes)
    return siwe.SiweMessage(**data).prepare_message()


def verify(anon: Api, message: str, signature: str):
    return anon.call("web3.siwe.verify", {"message": message, "signature": signature})


def assert_auth_required(r) -> None:
    assert r.status == 401, r.body
    assert r.code == "E_AUTH_REQUIRED"


def assert_not_issued(r) -> None:
    """Refused as text the market did not issue for the nonce: read no further."""
    assert_auth_required(r)
    assert r.body["error"]["message"].startswith("the message differs from the one issued for its nonce")


# --- happy path ------------------------------------------------------------------------------------


@pytest.mark.keypath
def test_sign_in_issues_a_token_for_the_wallet(anon):
    # given a new wallet
    account = Account.create()

    # when it asks for a challenge, signs it and verifies
    before = timezone.now()
    ch = challenge(anon, account)
    r = verify(anon, ch["message"], sign(account, ch["message"]))

    # then the challenge is an EIP-4361 message for this host, chain 1 and a fresh nonce
    parsed = siwe.SiweMessage.from_message(message=ch["message"])
    assert parsed.domain == "testserver"
    assert parsed.uri == "http://testserver"
    assert parsed.chain_id == 1
    assert parsed.address == account.address
    assert parsed.nonce == ch["nonce"]
    nonce_expiry = datetime.fromisoformat(ch["expiresAt"].replace("Z", "+00:00"))
    assert timedelta(seconds=299) <= nonce_expiry - before <= timedelta(seconds=301)
    # and verify returns a bearer token for the lowercase actor id that lives 24 h
    assert r.status == 200
    assert r.result["actorId"] == account.address.lower()
    assert r.result["token"].startswith("ocw_")
    token_expiry = datetime.fromisoformat(r.result["expiresAt"].replace("Z", "+00:00"))
    assert timedelta(hours=24) - timedelta(seconds=5) <= token_expiry - before <= timedelta(hours=24, seconds=5)
    # and only the token's hash is stored
    row = ActorToken.objects.get(actor_id=account.address.lower())
    assert row.token_hash != r.result["token"] and r.result["token"] not in row.token_hash
    # and the nonce is consumed
    assert SiweNonce.objects.get(nonce=ch["nonce"]).used_at is not None


def test_challenge_with_accepted_chain_id(anon, settings):
    settings.WEB3_CHAIN_IDS = [1, 8453]
    account = Account.create()
    ch = challenge(anon, account, chainId=8453)
    assert siwe.SiweMessage.from_message(message=ch["message"]).chain_id == 8453
    assert verify(anon, ch["message"], sign(account, ch["message"])).status == 200


def test_challenge_for_unaccepted_chain_is_invalid_argument(anon):
    r = anon.call("web3.siwe.challenge", {"address": Account.create().address, "chainId": 5})
    assert r.status == 400
    assert r.code == "E_INVALID_ARGUMENT"
    assert set(r.body["error"]["details"]["fields"]) == {"chainId"}


def test_configured_siwe_domain_is_bound_into_the_message(anon, settings):
    # given WEB3_SIWE_DOMAIN
    settings.WEB3_SIWE_DOMAIN = "market.example"
    account = Account.create()

    # when a wallet signs in
    ch = challenge(anon, account)
    r = verify(anon, ch["message"], sign(account, ch["message"]))

    # then the message names that domain over https, and verification accepts it
    parsed = siwe.SiweMessage.from_message(message=ch["message"])
    assert (parsed.domain, parsed.uri) == ("market.example", "https://market.example")
    assert r.status == 200


def test_lowercase_address_is_accepted(anon):
    account = Account.create()
    r = anon.call("web3.siwe.challenge", {"address": account.address.lower()})
    message = r.result["message"]
    assert account.address in message  # EIP-55 in the message
    assert verify(anon, message, sign(account, message)).result["actorId"] == account.address.lower()


# --- rejections: E_AUTH_REQUIRED ---------------------------------------------------------------------


@pytest.mark.keypath
def test_replayed_signature_is_rejected(anon):
    # given a signed challenge that was already exchanged for a token
    account = Account.create()
    ch = challenge(anon, account)
    signature = sign(account, ch["message"])
    assert verify(anon, ch["message"], signature).status == 200

    # when the same message and signature are sent again
    r = verify(anon, ch["message"], signature)

    # then the nonce is spent: E_AUTH_REQUIRED, and no second token exists
    assert_auth_required(r)
    assert ActorToken.objects.filter(actor_id=account.address.lower()).count() == 1


def test_unknown_nonce_is_rejected(anon):
    # given a correctly signed message whose nonce the market never issued
    account = Account.create()
    ch = challenge(anon, account)
    message = craft(ch["message"], nonce="0123456789abcdef0123456789abcdef")

    # when it is verified
    r = verify(anon, message, sign(account, message))

    # then it is rejected
    assert_auth_required(r)
    assert r.body["error"]["message"].startswith("unknown nonce; ask web3.siwe.challenge")


@pytest.mark.keypath
def test_expired_challenge_is_rejected(anon):
    # given a signed challenge
    account = Account.create()
    ch = challenge(anon, account)
    signature = sign(account, ch["message"])

    # when it is verified 6 minutes later (the nonce lives 5)
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        r = verify(anon, ch["message"], signature)

    # then it is rejected and no token exists
    assert_auth_required(r)
    assert not ActorToken.objects.exists()


def test_stale_message_without_expiration_is_rejected(anon):
    # given a signed message with its expiration time removed, used 6 minutes after issue
    account = Account.create()
    ch = challenge(anon, account)
    message = craft(ch["message"], expiration_time=None)

    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        r = verify(anon, message, sign(account, message))

    # then it is rejected
    assert_not_issued(r)


def test_expired_nonce_is_rejected_even_with_a_fresh_message(anon):
    # given a nonce issued 6 minutes ago, and a message that claims to be issued now
    account = Account.create()
    ch = challenge(anon, account)
    later = timezone.now() + timedelta(minutes=6)
    message = craft(ch["message"], issued_at=iso(later), expiration_time=iso(later + timedelta(minutes=5)))

    # when it is verified
    with time_machine.travel(later, tick=False):
        r = verify(anon, message, sign(account, message))

    # then it is rejected, and the nonce stays unused
    assert_not_issued(r)
    assert SiweNonce.objects.get(nonce=ch["nonce"]).used_at is None


def test_not_yet_valid_message_is_rejected(anon):
    # given a signed message with a not-before one hour ahead
    account = Account.create()
    ch = challenge(anon, account)
    message = craft(ch["message"], not_before=iso(timezone.now() + timedelta(hours=1)))

    # when it is verified now
    r = verify(anon, message, sign(account, message))

    # then it is rejected
    assert_not_issued(r)


def test_message_issued_in_the_future_is_rejected(anon):
    account = Account.create()
    ch = challenge(anon, account)
    message = craft(ch["message"], issued_at=iso(timezone.now() + timedelta(minutes=10)))
    assert_not_issued(verify(anon, message, sign(account, message)))


@pytest.mark.parametrize("domain", ["evil.example", "testserver.evil.example", "TESTSERVER"])
def test_wrong_domain_is_rejected(anon, domain):
    # given a correctly signed message for another domain, with a real nonce
    account = Account.create()
    ch = challenge(anon, account)
    message = craft(ch["message"], domain=domain)

    # when it is verified here
    r = verify(anon, message, sign(account, message))

    # then it is rejected and the nonce stays unused
    assert_not_issued(r)
    assert SiweNonce.objects.get(nonce=ch["nonce"]).used_at is None


@pytest.mark.parametrize("uri", ["https://testserver", "http://evil.example", "http://testserver/other"])
def test_wrong_uri_is_rejected(anon, uri):
    account = Account.create()
    ch = challenge(anon, account)
    message = craft(ch["message"], uri=uri)
    r = verify(anon, message, sign(account, message))
    assert_not_issued(r)


def test_unaccepted_chain_id_is_rejected(anon):
    # given a correctly signed message on chain 5, which the market does not accept
    account = Account.create()
    ch = challenge(anon, account)
    message = craft(ch["message"], chain_id=5)

    r = verify(anon, message, sign(account, message))

    assert_not_issued(r)


def test_chain_id_other_than_the_challenges_is_rejected(anon, settings):
    # given two accepted chains and a challenge for chain 1, signed as chain 8453
    settings.WEB3_CHAIN_IDS = [1, 8453]
    account = Account.create()
    ch = challenge(anon, account, chainId=1)
    message = craft(ch["message"], chain_id=8453)

    r = verify(anon, message, sign(account, message))

    assert_not_issued(r)


@pytest.mark.keypath
def test_signer_other_than_the_address_is_rejected(anon):
    # given alice's challenge signed by mallory's key
    alice, mallory = Account.create(), Account.create()
    ch = challenge(anon, alice)

    # when it is verified
    r = verify(anon, ch["message"], sign(mallory, ch["message"]))

    # then it is rejected and no token exists for either
    assert_auth_required(r)
    assert not ActorToken.objects.exists()


def test_nonce_issued_to_another_address_is_rejected(anon):
    # given a nonce issued to alice, put in a message for mallory and signed by mallory
    alice, mallory = Account.create(), Account.create()
    ch = challenge(anon, alice)
    message = craft(ch["message"], address=mallory.address)

    r = verify(anon, message, sign(mallory, message))

    assert_not_issued(r)


def test_signature_of_another_text_is_rejected(anon):
    account = Account.create()
    ch = challenge(anon, account)
    assert_auth_required(verify(anon, ch["message"], sign(account, ch["message"] + " ")))


@pytest.mark.keypath
def test_garbage_signatures_are_auth_required_never_500(anon):
    # given a real challenge and well-formed but random 65-byte signatures (every kind of v)
    account = Account.create()
    ch = challenge(anon, account)
    rng = os.urandom
    garbage = ["0x" + rng(64).hex() + v for v in ("00", "01", "1b", "1c", "ff", "7f")]
    garbage += ["0x" + rng(65).hex() for _ in range(8)]
    garbage += ["0x" + "00" * 65, "0x" + "ff" * 65, "0x" + "00" * 64 + "1b"]

    # when each is verified
    results = [verify(anon, ch["message"], g) for g in garbage]

    # then each is E_AUTH_REQUIRED
    assert [r.status for r in results] == [401] * len(garbage)
    assert {r.code for r in results} == {"E_AUTH_REQUIRED"}
    # and the nonce was not spent by them: the real signature still works once
    assert verify(anon, ch["message"], sign(account, ch["message"])).status == 200


# --- text that is no EIP-4361 message: E_AUTH_REQUIRED (any SIWE rejection is) -----------------------


@pytest.mark.parametrize(
    "message",
    [
        "hello",
        "testserver wants you to sign in with your Ethereum account:\n0xnot-an-address\n",
        "x" * 5000,
    ],
)
def test_malformed_message_is_auth_required(anon, message):
    assert_auth_required(verify(anon, message, "0x" + "11" * 65))


def test_truncated_real_message_is_auth_required(anon):
    account = Account.create()
    ch = challenge(anon, account)
    text = ch["message"].split("\nNonce:")[0]
    assert_auth_required(verify(anon, text, sign(account, text)))


# --- malformed params: E_INVALID_ARGUMENT -----------------------------------------------------------


@pytest.mark.parametrize("message", ["", 1234, None, ["a"]])
def test_empty_or_non_string_message_is_invalid_argument(anon, message):
    r = verify(anon, message, "0x" + "11" * 65)
    assert r.status == 400, r.body
    assert r.code == "E_INVALID_ARGUMENT"
    assert set(r.body["error"]["details"]["fields"]) == {"message"}


@pytest.mark.parametrize(
    "signature",
    [
        "0x1234",
        "11" * 65,
        "0x" + "zz" * 65,
        "0x" + "11" * 64,
        "0x" + "11" * 66,
        "",
        1234,
        None,
    ],
)
def test_malformed_signature_is_invalid_argument(anon, signature):
    # given a real challenge and a signature that is not 0x + 130 hex
    account = Account.create()
    ch = challenge(anon, account)

    r = verify(anon, ch["message"], signature)

    # then it is E_INVALID_ARGUMENT naming the signature, and the nonce is untouched
    assert r.status == 400
    assert r.code == "E_INVALID_ARGUMENT"
    assert set(r.body["error"]["details"]["fields"]) == {"signature"}
    assert SiweNonce.objects.get(nonce=ch["nonce"]).used_at is None


@pytest.mark.parametrize("address", ["0x123", "ab" * 20, "0x" + "g1" * 20, 42])
def test_malformed_address_is_invalid_argument(anon, address):
    r = anon.call("web3.siwe.challenge", {"address": address})
    assert r.status == 400
    assert set(r.body["error"]["details"]["fields"]) == {"address"}


# --- the session: whoami, logout, expiry ----------------------------------------------------------


@pytest.mark.keypath
def test_whoami(sign_in):
    # given a signed-in wallet that holds the arbitrator role
    api = sign_in(roles=("arbitrator",))

    # when it asks who it is
    r = api.call("web3.identity.whoami")

    # then the market names its actor, roles and token expiry
    assert r.status == 200
    token = ActorToken.objects.get(actor_id=api.actor_id)
    assert r.result == {
        "actorId": api.account.address.lower(),
        "roles": ["arbitrator"],
        "expiresAt": token.expires_at.isoformat().replace("+00:00", "Z"),
        "agent": None,
    }
    assert api.get("web3.identity.whoami").result == r.result


@pytest.mark.keypath
def test_logout_revokes_the_token(client, sign_in):
    # given the same wallet signed in twice
    account = Account.create()
    first = sign_in(account)
    second = sign_in(account)

    # when the first token logs out
    r = first.call("web3.identity.logout")

    # then it is revoked and refused from then on, while the other session is untouched
    assert r.status == 200 and r.result == {"ok": True}
    assert_auth_required(first.call("web3.identity.whoami"))
    assert_auth_required(first.call("web3.identity.logout"))
    assert second.call("web3.identity.whoami").result["actorId"] == account.address.lower()


def test_expired_token_is_rejected(alice):
    # given a token issued now
    # when it is used just before and just after its 24 hours
    with time_machine.travel(timezone.now() + timedelta(hours=23, minutes=59), tick=False):
        inside = alice.call("web3.identity.whoami")
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1), tick=False):
        after = alice.call("web3.identity.whoami")

    # then it works inside and is E_AUTH_REQUIRED after
    assert inside.status == 200
    assert_auth_required(after)


def test_purge_forgets_expired_nonces_and_tokens(anon, alice):
    from web3api.identity.services import purge_expired

    challenge(anon, Account.create())
    with time_machine.travel(timezone.now() + timedelta(days=2, hours=1), tick=False):
        assert purge_expired() == {"nonces": 2, "tokens": 1}


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_verifies_of_one_signature_issue_one_token(transactional_db):
    # given one signed challenge
    account = Account.create()
    ch = challenge(Api(Client()), account)
    signature = sign(account, ch["message"])

    # when four clients verify it at the same moment
    def attempt():
        return verify(Api(Client()), ch["message"], signature)

    threads = [in_thread(attempt) for _ in range(4)]
    for thread, _ in threads:
        thread.join(30)
    outcomes = sorted(out["value"].status for _, out in threads)

    # then exactly one gets a token; the others are E_AUTH_REQUIRED
    assert outcomes == [200, 401, 401, 401]
    assert ActorToken.objects.filter(actor_id=account.address.lower()).count() == 1
