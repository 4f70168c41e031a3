"""The ledger services' contract beyond the invariants: what they record, replays, refusals."""

from __future__ import annotations

import json

import pytest

from market.audit.verify import problems
from market.errors import Conflict, InsufficientFunds, InvalidArgument
from market.models import Account, AuditEvent, Settlement, Transfer
from market.selectors.ledger import balances
from market.services import escrow, ledger

A = "0x" + "a1" * 20
B = "0x" + "b2" * 20


def payload(event: AuditEvent) -> dict:
    return json.loads(event.payload)


def test_posted_transfers_record_reference_reason_and_their_audit_event(db):
    # when money comes in, moves and goes out, each with a reference
    d = ledger.deposit(actor_id=A, amount=900, currency="USDC", reason="wire", reference="bank:1")
    t = ledger.transfer(
        from_actor_id=A, to_actor_id=B, amount=300, currency="USDC", by_actor_id=A, reason="thanks", reference="task:t1"
    )
    w = ledger.withdraw(actor_id=B, amount=100, currency="USDC", reason="payout", reference="bank:2")

    # then each transfer keeps its reference, and its audit event says who, what and why
    assert [(x.code, x.kind, x.reference) for x in (d, t, w)] == [
        ("deposit", "posted", "bank:1"),
        ("transfer", "posted", "task:t1"),
        ("withdrawal", "posted", "bank:2"),
    ]
    events = {e.object_id: e for e in AuditEvent.objects.filter(object_type="transfer")}
    assert payload(events[t.transfer_id]) == {
        "amount": "0.000300",
        "code": "transfer",
        "currency": "USDC",
        "from": A,
        "reason": "thanks",
        "reference": "task:t1",
        "to": B,
    }
    assert events[d.transfer_id].action == "ledger.deposit"
    assert events[w.transfer_id].action == "ledger.withdraw"
    assert sorted(events[t.transfer_id].parties.values_list("actor_id", flat=True)) == [A, B]
    assert (events[t.transfer_id].actor_id, events[d.transfer_id].actor_id) == (A, "system")
    assert list(problems()) == []


def test_escrow_events_name_their_transfers(db):
    ledger.deposit(actor_id=A, amount=1_000, currency="USDC")
    s = escrow.escrow_lock(
        payer_actor_id=A, payee_actor_id=B, amount=600, currency="USDC", by_actor_id=A, reference="lease:l1"
    )
    escrow.escrow_release(settlement_id=s.settlement_id, amount=200, by_actor_id="system", reason="usage")
    escrow.escrow_refund(settlement_id=s.settlement_id, by_actor_id="system", reason="ended")
    events = list(AuditEvent.objects.filter(object_type="settlement").order_by("pk"))  # written order
    transfers = list(Transfer.objects.filter(settlement__settlement_id=s.settlement_id).order_by("pk"))
    assert [e.action for e in events] == ["settlement.lock", "settlement.release", "settlement.refund"]
    assert [payload(e)["transferId"] for e in events] == [t.transfer_id for t in transfers]
    assert [payload(e)["amount"] for e in events] == ["0.000600", "0.000200", "0.000400"]
    assert [payload(e)["status"] for e in events] == [
        "settlement_locked",
        "settlement_partially_released",
        "settlement_refunded",
    ]
    assert [t.reference for t in transfers] == ["lease:l1"] * 3
    assert list(problems()) == []


def test_the_same_idempotency_key_has_one_effect(db):
    first = ledger.deposit(actor_id=A, amount=500, currency="USDC", idempotency_key="k1")
    again = ledger.deposit(actor_id=A, amount=500, currency="USDC", idempotency_key="k1")
    assert again.pk == first.pk
    assert Transfer.objects.count() == 1
    assert AuditEvent.objects.count() == 1
    assert balances(A)["USDC"]["available"] == 500
    # the same key for another transfer is a conflict, and changes nothing
    for other in (
        lambda: ledger.deposit(actor_id=A, amount=501, currency="USDC", idempotency_key="k1"),
        lambda: ledger.deposit(actor_id=B, amount=500, currency="USDC", idempotency_key="k1"),
        lambda: ledger.withdraw(actor_id=A, amount=500, currency="USDC", idempotency_key="k1"),
    ):
        with pytest.raises(Conflict):
            other()
    assert (Transfer.objects.count(), balances(A)["USDC"]["available"]) == (1, 500)


def test_refusals_open_no_account(db):
    with pytest.raises(InsufficientFunds):
        escrow.escrow_lock(payer_actor_id=A, payee_actor_id=B, amount=1, currency="USDC", by_actor_id=A)
    with pytest.raises(InsufficientFunds):
        ledger.withdraw(actor_id=A, amount=1, currency="USDC")
    with pytest.raises(InvalidArgument):
        ledger.deposit(actor_id=A, amount=1, currency="EUR")
    with pytest.raises(InvalidArgument):
        escrow.escrow_lock(payer_actor_id=A, payee_actor_id=A, amount=1, currency="USDC", by_actor_id=A)
    assert Account.objects.count() == 0
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize("amount", [0, -1, True, 1.0, "1"])
def test_amounts_must_be_positive_integers(db, amount):
    ledger.deposit(actor_id=A, amount=10, currency="USDC")
    s = escrow.escrow_lock(payer_actor_id=A, payee_actor_id=B, amount=5, currency="USDC", by_actor_id=A)
    for call in (
        lambda: ledger.deposit(actor_id=A, amount=amount, currency="USDC"),
        lambda: ledger.withdraw(actor_id=A, amount=amount, currency="USDC"),
        lambda: ledger.transfer(from_actor_id=A, to_actor_id=B, amount=amount, currency="USDC", by_actor_id=A),
        lambda: escrow.escrow_lock(payer_actor_id=A, payee_actor_id=B, amount=amount, currency="USDC", by_actor_id=A),
        lambda: escrow.escrow_release(settlement_id=s.settlement_id, amount=amount, by_actor_id="system"),
    ):
        with pytest.raises(InvalidArgument):
            call()
    assert Settlement.objects.get(pk=s.pk).released == 0
    assert Transfer.objects.count() == 2


def test_external_account_mirrors_deposits_and_withdrawals(db):
    ledger.deposit(actor_id=A, amount=700, currency="USDC")
    ledger.withdraw(actor_id=A, amount=200, currency="USDC")
    external = Account.objects.get(kind="external", currency="USDC")
    assert (external.actor_id, external.balance) == ("external", -500)
