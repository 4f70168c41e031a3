"""Shared fixtures: real SIWE sign-in through the HTTP gateway, wallets, and the API client."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from eth_account import Account
from eth_account.messages import encode_defunct

from tests.funds_support import test_chain  # noqa: F401 - the funds tests' chain fixture

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

    def __init__(self, client: Client, token: str | None = None, actor_id: str | None = None, account=None):
        self.client = client
        self.token = token
        self.actor_id = actor_id
        self.account = account

    def _headers(self, extra):
        headers = dict(extra or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def call(
        self,
        method: str,
        params: dict | None = None,
        *,
        idempotency_key: str | None = None,
        headers: dict | None = None,
    ) -> Response:
        h = self._headers(headers)
        if idempotency_key is not None:
            h["Idempotency-Key"] = idempotency_key
        r = self.client.post(API + method, data=json.dumps(params or {}), content_type="application/json", headers=h)
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


def clear_cache() -> None:
    """Forget rate-limit counters. On Redis only this process's keys go (KEY_PREFIX is per test
    process, see tests/settings.py): a FLUSHDB would wipe another xdist worker's counters."""
    client_getter = getattr(getattr(cache, "_cache", None), "get_client", None)
    if client_getter is None:
        cache.clear()
        return
    client = client_getter(write=True)
    keys = list(client.scan_iter(match=f"{cache.key_prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def _set_allow_delete(value: bool) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE market_maintenance SET allow_delete = %s WHERE id = 1", [value])


@pytest.fixture(autouse=True)
def _append_only_guard(request):
    """The append-only triggers refuse DELETE unless the maintenance flag is set. Tests run with it
    off; a transactional test's teardown sets it so the database flush can empty the tables."""
    names = request.fixturenames
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in names or bool(marker and marker.kwargs.get("transaction"))
    if not (transactional or "db" in names or marker):
        yield
        return
    request.getfixturevalue("transactional_db" if transactional else "db")
    _set_allow_delete(False)
    yield
    _set_allow_delete(True)


@pytest.fixture(autouse=True)
def _clear_cache():
    clear_cache()
    yield
    clear_cache()


class HeldGate(threading.Event):
    """A GATE for web3.test.increment (tests/testapp/methods.py) that also tells when the call
    has reached it, i.e. when its transaction is open and its claim committed."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()

    def wait(self, timeout=None):
        self.entered.set()
        return super().wait(timeout)


def in_thread(fn, *args, **kwargs) -> tuple[threading.Thread, dict]:
    """Run fn in a thread with its own database connection, closed at the end; returns the thread
    and a dict that receives `value` or `error`."""
    out: dict = {}

    def run():
        from django.db import connections

        try:
            out["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            out["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


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
