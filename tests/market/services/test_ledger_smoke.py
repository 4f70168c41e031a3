import pytest

from market.audit.verify import problems
from market.errors import Conflict, InsufficientFunds, InvalidArgument
from market.models import Settlement
from market.selectors.ledger import balances
from market.services import escrow, ledger

A = "0x" + "a1" * 20
B = "0x" + "b2" * 20


@pytest.mark.keypath
def test_lock_partial_release_refund_moves_exact_amounts(db):
    # given
    ledger.deposit(actor_id=A, amount=1_000_000, currency="USDC")
    # when
    s = escrow.escrow_lock(payer_actor_id=A, payee_actor_id=B, amount=600_000, currency="USDC", by_actor_id=A)
    s = escrow.escrow_release(settlement_id=s.settlement_id, amount=100_000, by_actor_id="system")
    s = escrow.escrow_release(settlement_id=s.settlement_id, amount=200_000, by_actor_id="system")
    # then
    assert s.status == Settlement.Status.PARTIALLY_RELEASED
    assert balances(A)["USDC"] == {"available": 400_000, "locked": 300_000, "balance": 700_000}
    s = escrow.escrow_refund(settlement_id=s.settlement_id, by_actor_id="system")
    assert (s.status, s.released, s.refunded, s.remaining) == (Settlement.Status.REFUNDED, 300_000, 300_000, 0)
    assert balances(A)["USDC"] == {"available": 700_000, "locked": 0, "balance": 700_000}
    assert balances(B)["USDC"] == {"available": 300_000, "locked": 0, "balance": 300_000}
    with pytest.raises(Conflict):
        escrow.escrow_release(settlement_id=s.settlement_id, by_actor_id="system")
    assert list(problems()) == []


def test_refusals_change_nothing(db):
    ledger.deposit(actor_id=A, amount=500, currency="USDC")
    with pytest.raises(InsufficientFunds):
        escrow.escrow_lock(payer_actor_id=A, payee_actor_id=B, amount=501, currency="USDC", by_actor_id=A)
    s = escrow.escrow_lock(payer_actor_id=A, payee_actor_id=B, amount=500, currency="USDC", by_actor_id=A)
    with pytest.raises(InvalidArgument):
        escrow.escrow_release(settlement_id=s.settlement_id, amount=501, by_actor_id="system")
    s = escrow.escrow_release(settlement_id=s.settlement_id, by_actor_id="system")
    assert s.status == Settlement.Status.RELEASED
    assert balances(B)["USDC"]["available"] == 500
    assert list(problems()) == []
