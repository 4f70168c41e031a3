"""web3.status.summary's foundation parts, and the gateway's outermost-transaction retries."""

from __future__ import annotations

import pytest
from django.db import OperationalError, transaction
from django.db.models import F

from tests.testapp.models import Counter
from web3api import gateway, status

# --- web3.status.summary ------------------------------------------------------------------------------

WORST = {"ok": 0, "degraded": 1, "down": 2}


@pytest.mark.django_db
def test_status_reports_database_broker_identity(alice, settings):
    from django.db import connection

    # when a signed-in caller asks for the market's health
    r = alice.call("web3.status.summary")

    # then each foundation part is there with a state and a message, and the total is the worst
    assert r.status == 200
    parts = r.result["parts"]
    assert {"database", "broker", "identity"} <= set(parts)
    assert parts["database"] == {"status": "ok", "message": f"{connection.vendor} reachable"}
    assert parts["broker"]["status"] == "ok"
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        assert parts["broker"]["message"].startswith("embedded broker, ")
    else:
        assert parts["broker"]["message"] == "broker reachable"
    assert parts["identity"]["status"] == "ok"
    assert parts["identity"]["message"].endswith("; 1 live sessions")
    assert all(p["status"] in WORST for p in parts.values())
    assert r.result["status"] == max((p["status"] for p in parts.values()), key=WORST.get)


@pytest.mark.django_db
def test_status_needs_a_caller(anon):
    assert anon.call("web3.status.summary").code == "E_AUTH_REQUIRED"


@pytest.mark.django_db
def test_unwritable_embedded_broker_is_down(alice, settings, tmp_path):
    # given the embedded broker's folder is missing
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "gone")}

    # then the broker part is down, and so is the market
    r = alice.call("web3.status.summary").result
    assert r["parts"]["broker"] == {"status": "down", "message": "embedded broker folder is not writable"}
    assert r["status"] == "down"


@pytest.mark.django_db
def test_a_failing_part_is_down_without_its_internals(alice, monkeypatch):
    def explode():
        raise RuntimeError("password=hunter2 at /srv/private")

    monkeypatch.setitem(status.PARTS, "boom", explode)
    r = alice.call("web3.status.summary")
    assert r.result["parts"]["boom"] == {"status": "down", "message": "boom check failed"}
    assert r.result["status"] == "down"
    assert "hunter2" not in str(r.body) and "/srv/private" not in str(r.body)


# --- retries at the outermost transaction ------------------------------------------------------------


class FakePgError(Exception):
    def __init__(self, sqlstate):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def failing(times: int, make_error):
    """A unit of work that adds 1 to a counter, then fails `times` times before succeeding."""
    calls = {"n": 0}

    def work():
        calls["n"] += 1
        counter, _ = Counter.objects.get_or_create(name="retry")
        Counter.objects.filter(pk=counter.pk).update(value=F("value") + 1)
        if calls["n"] <= times:
            raise make_error()
        return "done"

    return work, calls


def sqlite_locked():
    return OperationalError("database is locked")


def pg_error(sqlstate):
    def make():
        try:
            raise FakePgError(sqlstate)
        except FakePgError as cause:
            try:
                raise OperationalError("could not serialize") from cause
            except OperationalError as exc:
                return exc

    return make


@pytest.fixture
def no_sleep(monkeypatch):
    monkeypatch.setattr(gateway.time, "sleep", lambda s: None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "make_error",
    [sqlite_locked, pg_error("40001"), pg_error("40P01")],
    ids=["sqlite-locked", "pg-serialization", "pg-deadlock"],
)
def test_transient_failures_are_retried_each_attempt_rolled_back(transactional_db, no_sleep, make_error):
    # given work that fails twice with a lock, serialization or deadlock error
    work, calls = failing(2, make_error)

    # when the gateway runs it as the outermost transaction
    result = gateway.run_in_transaction(work)

    # then it ran three times, and only the successful attempt's effect remains
    assert result == "done"
    assert calls["n"] == 3
    assert Counter.objects.get(name="retry").value == 1


@pytest.mark.django_db(transaction=True)
def test_other_operational_errors_are_not_retried(transactional_db, no_sleep):
    work, calls = failing(1, lambda: OperationalError("no such column: nope"))
    with pytest.raises(OperationalError):
        gateway.run_in_transaction(work)
    assert calls["n"] == 1
    assert not Counter.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_retries_are_bounded(transactional_db, no_sleep, settings):
    work, calls = failing(100, sqlite_locked)
    with pytest.raises(OperationalError):
        gateway.run_in_transaction(work)
    assert calls["n"] == settings.WEB3_TX_RETRIES
    assert not Counter.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_nested_transactions_are_not_retried(transactional_db, no_sleep):
    # given an enclosing transaction: a nested one cannot be retried on its own
    work, calls = failing(1, sqlite_locked)
    with pytest.raises(OperationalError), transaction.atomic():
        gateway.run_in_transaction(work)
    assert calls["n"] == 1
