"""Read-only methods run outside a transaction: they never wait for a writer's lock, and the guard
(on in the tests) refuses any write one of them attempts."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import Api, HeldGate, in_thread
from tests.testapp import methods as test_methods
from tests.testapp.models import Counter


@pytest.fixture
def gate():
    held = HeldGate()
    test_methods.GATE["held"] = held
    yield held
    held.set()
    test_methods.GATE.pop("held", None)


def test_a_read_only_method_that_writes_is_refused_and_writes_nothing(alice):
    # when a method declared read-only tries to write
    r = alice.call("web3.test.peek", {"name": "c", "sneak": True})

    # then the call fails as an internal error (no detail leaks) and nothing was written
    assert r.code == "E_INTERNAL"
    assert "peek" not in r.body["error"]["message"]
    assert not Counter.objects.filter(name="c").exists()
    # and the honest read works, on GET too
    assert alice.call("web3.test.peek", {"name": "c"}).result == {"name": "c", "value": 0}
    assert alice.get("web3.test.peek", {"name": "c"}).result == {"name": "c", "value": 0}


@pytest.mark.parametrize("via", ["sql", "cte"])
def test_the_guard_refuses_writes_sent_past_the_orm(alice, via):
    # when a method declared read-only writes through market.sql, or with a data-modifying CTE
    r = alice.call("web3.test.peek", {"name": "c", "sneak": True, "via": via})

    # then it is refused too, and nothing was written
    assert r.code == "E_INTERNAL"
    assert not Counter.objects.filter(name="c").exists()


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_reads_do_not_wait_for_a_writer_holding_its_transaction(transactional_db, alice, gate, settings):
    # given a write held open inside its transaction (on SQLite it holds the database's write lock)
    writer, out = in_thread(
        lambda: Api(Client(), alice.token).call("web3.test.increment", {"name": "held", "by": 2, "holdMs": 5000})
    )
    assert gate.entered.wait(15), "the write never reached its hold"

    # when read-only methods are called meanwhile
    try:
        peek = Api(Client(), alice.token).call("web3.test.peek", {"name": "held"})
        billing = Api(Client(), alice.token).call("web3.billing.status")
    finally:
        gate.set()
    writer.join(15)

    # then they answered before the writer committed (a read that waited for its lock would have
    # seen the 2 it wrote), seeing only committed data
    assert peek.ok and peek.result == {"name": "held", "value": 0}, peek.body
    assert billing.ok, billing.body
    assert out["value"].result == {"name": "held", "value": 2}
