"""A write that cannot get the database in time (issue 11, item 7) is E_UNAVAILABLE (503) with
Retry-After, counted as such in /metrics, and for a money method as a market failure; nothing was
changed, so the same call succeeds once the database is free.

The lock is real: another connection holds SQLite's write lock (BEGIN IMMEDIATE) or PostgreSQL
table locks that every write of these methods needs, and the busy timeout (SQLite) or
lock_timeout (PostgreSQL) of the test's connection is lowered so the wait is short."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import psycopg
import pytest
from django.db import OperationalError, connection
from prometheus_client.parser import text_string_to_metric_families

from bench.gateway import free_port
from market.models import OperationFailure
from market.selectors.ledger import balances
from tests.testapp.models import Counter
from web3api import gateway
from web3api.errors import to_error

WAIT_MS = 150


class HeldLock:
    """Another connection holding what every write of the methods below needs, until released."""

    def __init__(self) -> None:
        params = connection.settings_dict
        if connection.vendor == "sqlite":
            self.conn = sqlite3.connect(params["NAME"], isolation_level=None, check_same_thread=False)
            self.conn.execute("BEGIN IMMEDIATE")
        else:
            self.conn = psycopg.connect(**connection.get_connection_params())
            self.conn.execute(
                "LOCK TABLE market_account, testapp_counter, web3api_idempotencyrecord IN SHARE ROW EXCLUSIVE MODE"
            )
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.conn.rollback() if connection.vendor != "sqlite" else self.conn.execute("ROLLBACK")
            self.conn.close()


@contextmanager
def database_held(settings):
    """The database held by another connection, with this connection's wait for it shortened."""
    settings.WEB3_DB_BUSY_TIMEOUT_SEC = WAIT_MS / 1000
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA busy_timeout = {WAIT_MS}")
        else:
            cursor.execute(f"SET lock_timeout = {WAIT_MS}")
    lock = HeldLock()
    try:
        yield lock
    finally:
        lock.release()
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute(f"PRAGMA busy_timeout = {int(settings.WEB3_DB_BUSY_TIMEOUT_SEC * 1000)}")
            else:
                cursor.execute("RESET lock_timeout")


def samples(client) -> dict[tuple[str, tuple], float]:
    text = client.get("/metrics").content.decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def requests_key(method: str, code: str):
    return ("web3_requests_total", (("code", code), ("method", method)))


@pytest.mark.keypath
@pytest.mark.django_db(transaction=True)
def test_a_write_that_cannot_get_the_database_is_503_unavailable(transactional_db, alice, client, settings):
    before = samples(client)

    # given another connection holding the database
    with database_held(settings):
        # when a mutating method is called
        r = alice.call("web3.test.increment", {"name": "busy"})

    # then it is E_UNAVAILABLE with Retry-After, not E_INTERNAL, and nothing was written
    assert r.status == 503, r.body
    assert r.code == "E_UNAVAILABLE"
    assert r.body["error"]["details"] == {"retryAfterSec": 1}
    assert r.headers["Retry-After"] == "1"
    assert not Counter.objects.filter(name="busy").exists()
    # and /metrics counts it under its code
    after = samples(client)
    key = requests_key("web3.test.increment", "E_UNAVAILABLE")
    assert after[key] - before.get(key, 0) == 1
    assert after.get(requests_key("web3.test.increment", "E_INTERNAL"), 0) == before.get(
        requests_key("web3.test.increment", "E_INTERNAL"), 0
    )

    # and once the database is free the same call does its work
    assert alice.call("web3.test.increment", {"name": "busy"}).result == {"name": "busy", "value": 1}


@pytest.mark.django_db(transaction=True)
def test_a_busy_database_is_not_stored_as_the_idempotent_answer(transactional_db, alice, settings):
    # given a call with an Idempotency-Key refused because the database was held
    with database_held(settings):
        refused = alice.call("web3.test.increment", {"name": "keyed"}, idempotency_key="busy-1")
    assert refused.status == 503

    # when it is sent again with the same key once the database is free
    again = alice.call("web3.test.increment", {"name": "keyed"}, idempotency_key="busy-1")

    # then it runs (a 503 is never replayed), once
    assert again.status == 200
    assert "Idempotent-Replayed" not in again.headers
    assert alice.call("web3.test.increment", {"name": "keyed"}, idempotency_key="busy-1").result["value"] == 1


@pytest.mark.keypath
@pytest.mark.django_db(transaction=True)
def test_a_money_method_on_a_busy_database_counts_as_a_market_failure(transactional_db, staff, alice, client, settings):
    before = samples(client)
    failure_key = (
        "web3_ledger_failures_total",
        (("kind", "retries_exhausted"), ("operation", "web3.admin.creditAccount")),
    )

    with database_held(settings) as lock:
        # The failure is recorded after the call's own transaction rolled back; on SQLite that
        # record needs the write lock too, so the other connection lets go just before it.
        def release_before_the_failure_record(execute, sql, params, many, context):
            if "market_operationfailure" in sql and "INSERT" in sql.upper():
                lock.release()
            return execute(sql, params, many, context)

        with connection.execute_wrapper(release_before_the_failure_record):
            # when staff credits an account while the database is held
            r = staff.call(
                "web3.admin.creditAccount",
                {"actorId": alice.actor_id, "amount": "5.00", "currency": "USDC", "reason": "busy"},
            )

    # then it is E_UNAVAILABLE, no money moved, and it counts as a failure of the market
    assert r.status == 503, r.body
    assert r.code == "E_UNAVAILABLE"
    assert r.headers["Retry-After"] == "1"
    assert balances(alice.actor_id).get("USDC", {}).get("available", 0) == 0
    assert OperationFailure.objects.get().kind == "retries_exhausted"
    after = samples(client)
    assert after[failure_key] - before.get(failure_key, 0) == 1
    key = requests_key("web3.admin.creditAccount", "E_UNAVAILABLE")
    assert after[key] - before.get(key, 0) == 1


@pytest.mark.django_db(transaction=True)
def test_no_retry_starts_after_the_busy_timeout(transactional_db, settings, monkeypatch):
    # given work that always finds the database locked, five retries allowed, and a busy timeout
    # that has already passed when the first attempt fails
    monkeypatch.setattr(gateway.time, "sleep", lambda s: None)
    settings.WEB3_TX_RETRIES = 5
    settings.WEB3_DB_BUSY_TIMEOUT_SEC = 0
    calls = {"n": 0}

    def work():
        calls["n"] += 1
        raise OperationalError("database is locked")

    # when the gateway runs it
    with pytest.raises(OperationalError):
        gateway.run_in_transaction(work)

    # then it was tried once: another attempt would wait the whole busy timeout again
    assert calls["n"] == 1


def _other_connection(**changes):
    from django.db.backends.postgresql.base import DatabaseWrapper

    return DatabaseWrapper({**connection.settings_dict, **changes}, alias="other")


@pytest.mark.postgres
@pytest.mark.django_db
def test_no_connection_to_be_had_is_unavailable():
    # given a PostgreSQL server address where nothing listens
    unreachable = _other_connection(PORT=free_port())

    # when a connection is attempted
    with pytest.raises(OperationalError) as caught:
        unreachable.ensure_connection()

    # then it is E_UNAVAILABLE with retryAfterSec: no session existed, so nothing was changed
    status, body = to_error(caught.value)
    assert (status, body["error"]["code"]) == (503, "E_UNAVAILABLE")
    assert body["error"]["details"] == {"retryAfterSec": 1}


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_connection_lost_in_a_session_is_not_called_unavailable():
    # given a session the server ends under it (its outcome is unknown to the client)
    doomed = _other_connection()
    try:
        with pytest.raises(OperationalError) as caught, doomed.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    finally:
        doomed.close()

    # then it stays E_INTERNAL: only failures that changed nothing are E_UNAVAILABLE (the gateway,
    # which knows whether it had sent the COMMIT, says so for a loss before it: tests/faults)
    status, body = to_error(caught.value)
    assert (status, body["error"]["code"]) == (500, "E_INTERNAL")
