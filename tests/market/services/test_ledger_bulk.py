"""escrow_refund_many and audit_record_many: the set-based forms the expiry sweep uses."""

from market.audit.sequencer import audit_sequence
from market.audit.verify import problems
from market.models import AuditEvent, AuditParty, Settlement, Transfer
from market.selectors.ledger import balances
from market.services import escrow, ledger

A = "0x" + "a1" * 20
B = "0x" + "b2" * 20
C = "0x" + "c3" * 20


def test_refund_many_matches_one_by_one_refunds_and_skips_closed_ones(db):
    # given: three open settlements (one partly released) and one closed
    ledger.deposit(actor_id=A, amount=1_000, currency="USDC")
    ledger.deposit(actor_id=C, amount=1_000, currency="USDC")
    s1 = escrow.escrow_lock(payer_actor_id=A, payee_actor_id=B, amount=300, currency="USDC", by_actor_id=A)
    s2 = escrow.escrow_lock(payer_actor_id=A, payee_actor_id=B, amount=200, currency="USDC", by_actor_id=A)
    s3 = escrow.escrow_lock(payer_actor_id=C, payee_actor_id=B, amount=500, currency="USDC", by_actor_id=C)
    s4 = escrow.escrow_lock(payer_actor_id=C, payee_actor_id=B, amount=100, currency="USDC", by_actor_id=C)
    escrow.escrow_release(settlement_id=s1.settlement_id, amount=120, by_actor_id="system")
    escrow.escrow_refund(settlement_id=s4.settlement_id, by_actor_id="system")
    events_before = AuditEvent.objects.count()
    # when
    done = escrow.escrow_refund_many(
        settlement_ids=[s.settlement_id for s in (s1, s2, s3, s4)], by_actor_id="system", reason="test"
    )
    again = escrow.escrow_refund_many(settlement_ids=[s1.settlement_id], by_actor_id="system")
    # then
    assert sorted(s.settlement_id for s in done) == sorted([s1.settlement_id, s2.settlement_id, s3.settlement_id])
    assert again == []
    rows = {s.settlement_id: (s.status, s.released, s.refunded) for s in Settlement.objects.all()}
    assert rows[s1.settlement_id] == ("settlement_refunded", 120, 180)
    assert rows[s2.settlement_id] == ("settlement_refunded", 0, 200)
    assert rows[s3.settlement_id] == ("settlement_refunded", 0, 500)
    assert balances(A)["USDC"] == {"available": 880, "locked": 0, "balance": 880}
    assert balances(C)["USDC"] == {"available": 1_000, "locked": 0, "balance": 1_000}
    assert balances(B)["USDC"]["available"] == 120
    assert Transfer.objects.filter(code="escrow_refund").count() == 4
    audit_sequence()  # as after the commits: the leaves take their positions
    new = AuditEvent.objects.filter(seq__gte=events_before).order_by("seq")
    assert [e.action for e in new] == ["settlement.refund"] * 3
    assert set(AuditParty.objects.filter(event__in=new).values_list("actor_id", flat=True)) == {A, B, C}
    assert list(problems()) == []
