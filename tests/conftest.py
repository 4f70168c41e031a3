"""Shared fixtures: real SIWE sign-in through the HTTP gateway, wallets, and the API client."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from eth_account import Account
from eth_account.messages import encode_defunct

API = "/api/v1/"


def sign(key_or_account, text: str) -> str:
    acct = key_or_account if hasattr(key_or_account, "sign_message") else Account.from_key(key_or_account)
    sig = acct.sign_message(encode_defunct(text=text)).signature.hex()
    return sig if sig.startswith("0x") else "0x" + sig


@dataclass
class Response:
    status: int
    body: dict
    headers: dict

    @property
    def ok(self) -> bool:
        return self.body.get("ok") is True

    @property
    def result(self):
        assert self.body.get("ok") is True, self.body
        return self.body["result"]

    @property
    def code(self) -> str | None:
        return None if self.ok else self.body["error"]["code"]


class Api:
    """Calls the gateway over Django's test client, as a given bearer token (or none)."""

    def __init__(self, client: Client, token: str | None = None, actor_id: str | None = None,
                 account=None):
        self.client = client
        self.token = token
        self.actor_id = actor_id
        self.account = account

    def _headers(self, extra):
        headers = dict(extra or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def call(self, method: str, params: dict | None = None, *, idempotency_key: str | None = None,
             headers: dict | None = None) -> Response:
        h = self._headers(headers)
        if idempotency_key is not None:
            h["Idempotency-Key"] = idempotency_key
        r = self.client.post(API + method, data=json.dumps(params or {}),
                             content_type="application/json", headers=h)
        return Response(r.status_code, json.loads(r.content), dict(r.headers))

    def get(self, method: str, params: dict | None = None, *, headers: dict | None = None) -> Response:
        r = self.client.get(API + method, data=params or {}, headers=self._headers(headers))
        return Response(r.status_code, json.loads(r.content), dict(r.headers))


def siwe_sign_in(client: Client, account=None, *, chain_id: int | None = None) -> Api:
    account = account or Account.create()
    params = {"address": account.address}
    if chain_id is not None:
        params["chainId"] = chain_id
    anon = Api(client)
    challenge = anon.call("web3.siwe.challenge", params).result
    verified = anon.call(
        "web3.siwe.verify", {"message": challenge["message"], "signature": sign(account, challenge["message"])}
    ).result
    return Api(client, verified["token"], verified["actorId"], account)


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def anon(client) -> Api:
    return Api(client)


@pytest.fixture
def sign_in(db, client):
    """sign_in() -> a signed-in Api for a fresh wallet (or the given account)."""

    def _sign_in(account=None, *, roles: tuple[str, ...] = ()) -> Api:
        from web3api.identity.services import role_grant

        api = siwe_sign_in(client, account)
        for role in roles:
            role_grant(actor_id=api.actor_id, role=role)
        return api

    return _sign_in


@pytest.fixture
def alice(sign_in) -> Api:
    return sign_in()


@pytest.fixture
def staff(sign_in) -> Api:
    return sign_in(roles=("staff",))


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    on_pg = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords and not on_pg:
            item.add_marker(skip)
