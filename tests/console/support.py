"""Signing a Django test client into the console as a wallet actor, the way the page's script
does: web3.siwe.challenge through the gateway, personal_sign, then the console's sign-in form."""

from __future__ import annotations

from django.test import Client
from eth_account import Account

from tests.conftest import Api, sign


def console_sign_in(client: Client, account=None):
    account = account or Account.create()
    challenge = Api(client).call("web3.siwe.challenge", {"address": account.address}).result
    r = client.post(
        "/console/signin/",
        {"method": "wallet", "message": challenge["message"], "signature": sign(account, challenge["message"])},
    )
    assert r.status_code == 302, r.content[:500]
    return account
