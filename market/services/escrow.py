"""Escrow: two-phase transfers wrapped in a Settlement. A lock is a pending transfer from the
payer to the payee; a release posts part or all of it; a refund voids the rest back to the payer.

Each runs in one transaction, locks the settlement, then its accounts by id (the audit head last,
inside audit_record), re-checks state under the lock and writes its audit event.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from django.db.models import Case, F, Value, When
from django.utils import timezone

from market import sql, states, tx
from market.audit.log import audit_leaf
from market.errors import Conflict, InvalidArgument
from market.ids import new_id
from market.locks import lock_accounts, lock_open_settlements, lock_settlement_accounts
from market.models import Account, Settlement, Transfer
from market.money import format_amount
from market.services.ledger import (
    K,
    actor_owner,
    amount_check,
    available_check,
    create_transfer,
    owner_accounts_lock,
    totals_statement,
)


def _settlement_payload(s: Settlement, **extra: Any) -> dict[str, Any]:
    return {
        "currency": s.currency,
        "payer": s.payer_actor_id,
        "payee": s.payee_actor_id,
        "locked": format_amount(s.locked, s.currency),
        "released": format_amount(s.released, s.currency),
        "refunded": format_amount(s.refunded, s.currency),
        "status": s.status,
        "reference": s.reference,
        **extra,
    }


def escrow_lock(
    *, payer_actor_id: str, payee_actor_id: str, amount: int, currency: str, by_actor_id: str, reference: str = ""
) -> Settlement:
    """Reserve `amount` of the payer's available balance for the payee (a pending transfer)."""
    amount_check(amount)
    if payer_actor_id == payee_actor_id:
        raise InvalidArgument("payer and payee must differ")
    with tx.atomic():
        payer, payee = owner_accounts_lock(currency, actor_owner(payer_actor_id), actor_owner(payee_actor_id))
        available_check(payer, amount, currency)
        settlement = Settlement(
            settlement_id=new_id("stl"),
            currency=currency,
            payer_actor_id=payer_actor_id,
            payee_actor_id=payee_actor_id,
            payer_account=payer,
            payee_account=payee,
            locked=amount,
            reference=reference,
        )
        lock = Transfer(
            transfer_id=new_id("tr"),
            debit_account=payer,
            credit_account=payee,
            amount=amount,
            currency=currency,
            kind=K.PENDING,
            code=Transfer.Code.ESCROW_LOCK,
            reference=reference,
        )
        leaf = audit_leaf(
            actor_id=by_actor_id,
            action="settlement.lock",
            object_type="settlement",
            object_id=settlement.settlement_id,
            payload=_settlement_payload(
                settlement, amount=format_amount(amount, currency), transferId=lock.transfer_id
            ),
            parties=[payer_actor_id, payee_actor_id],
        )
        # The settlement, its lock, both accounts' totals and the leaf: one statement on PostgreSQL.
        sql.insert_linked(
            settlement, lock, a_to_b="lock_transfer", b_to_a="settlement", also=(totals_statement(lock), leaf)
        )
        return settlement


def _lock_open_settlement(settlement_id: str) -> Settlement:
    settlement = lock_settlement_accounts(settlement_id)
    if not settlement.is_open:
        raise Conflict(f"the settlement is closed ({settlement.status})", details={"status": settlement.status})
    return settlement


class _Settling(NamedTuple):
    """How a settlement's pending lock is settled: the transfer kind and code, the settlement column
    that grows, and the audit action."""

    kind: str
    code: str
    changed: str
    action: str


_RELEASE = _Settling(K.POST_PENDING, Transfer.Code.ESCROW_RELEASE, "released", "settlement.release")
_REFUND = _Settling(K.VOID_PENDING, Transfer.Code.ESCROW_REFUND, "refunded", "settlement.refund")


def _settle_pending(
    settlement: Settlement,
    how: _Settling,
    amount: int,
    *,
    by_actor_id: str,
    reason: str,
    reference: str,
    also: tuple[sql.Part, ...] = (),
) -> Transfer:
    """Post (release) or void (refund) `amount` of the settlement's pending lock, with the
    settlement's new state and its audit event (and the caller's `also`), in the caller's transaction."""
    transfer_id = new_id("tr")
    leaf = audit_leaf(
        actor_id=by_actor_id,
        action=how.action,
        object_type="settlement",
        object_id=settlement.settlement_id,
        payload=_settlement_payload(
            settlement,
            amount=format_amount(amount, settlement.currency),
            reason=reason,
            transferId=transfer_id,
        ),
        parties=[settlement.payer_actor_id, settlement.payee_actor_id],
    )
    # The transfer, both accounts' totals, the settlement's new state and the leaf: one statement
    # on PostgreSQL.
    return create_transfer(
        transfer_id=transfer_id,
        debit_account_id=settlement.payer_account_id,
        credit_account_id=settlement.payee_account_id,
        amount=amount,
        currency=settlement.currency,
        kind=how.kind,
        code=how.code,
        pending_id=settlement.lock_transfer_id,
        settlement=settlement,
        reference=reference or settlement.reference,
        also=(sql.update_statement(settlement, ["status", how.changed, "updated_at"]), leaf, *also),
    )


def escrow_release(
    *,
    settlement_id: str,
    by_actor_id: str,
    amount: int | None = None,
    reason: str = "",
    reference: str = "",
    also: tuple[sql.Part, ...] = (),
) -> Settlement:
    """Post all (amount=None) or part of what remains to the payee. Partial releases may repeat.
    `also`: the caller's other writes that do not read the release's rows, written with them (one
    statement on PostgreSQL)."""
    return escrow_release_transfer(
        settlement_id=settlement_id,
        by_actor_id=by_actor_id,
        amount=amount,
        reason=reason,
        reference=reference,
        also=also,
    )[0]


def escrow_release_transfer(
    *,
    settlement_id: str,
    by_actor_id: str,
    amount: int | None = None,
    reason: str = "",
    reference: str = "",
    also: tuple[sql.Part, ...] = (),
) -> tuple[Settlement, Transfer]:
    """escrow_release, with the transfer it posted (for a caller that records it, as a usage entry)."""
    with tx.atomic():
        settlement = _lock_open_settlement(settlement_id)
        remaining = settlement.remaining
        amount = remaining if amount is None else amount
        amount_check(amount)
        if amount > remaining:
            raise InvalidArgument(
                "the release exceeds what remains locked",
                details={
                    "fields": {"amount": "exceeds the remaining amount"},
                    "remaining": format_amount(remaining, settlement.currency),
                },
            )
        settlement.released += amount
        states.transition(settlement, "release_all" if amount == remaining else "release_part", save=False)
        transfer = _settle_pending(
            settlement, _RELEASE, amount, by_actor_id=by_actor_id, reason=reason, reference=reference, also=also
        )
        return settlement, transfer


def escrow_refund(
    *, settlement_id: str, by_actor_id: str, reason: str = "", reference: str = "", also: tuple[sql.Part, ...] = ()
) -> Settlement:
    """Void everything that remains back to the payer; closes the settlement. `also`: as escrow_release's."""
    with tx.atomic():
        settlement = _lock_open_settlement(settlement_id)
        remaining = settlement.remaining  # > 0: an open settlement always has something left
        settlement.refunded += remaining
        states.transition(settlement, "refund", save=False)
        _settle_pending(
            settlement, _REFUND, remaining, by_actor_id=by_actor_id, reason=reason, reference=reference, also=also
        )
        return settlement


_REFUND_COLUMNS = ("transfer_id", "debit_account_id", "credit_account_id", "amount", "currency", "kind", "code")
_REFUND_COLUMNS += ("pending_id", "settlement_id", "reference", "created_at")


def escrow_refund_many(*, settlement_ids: list[str], by_actor_id: str, reason: str = "") -> list[Settlement]:
    """escrow_refund for many settlements at once (the expiry sweeps' set-based form): locks the open
    ones (then their accounts by id), voids what remains of each with one transfer apiece, moves the
    account totals with one UPDATE, closes the settlements through the bulk transition and writes
    one audit event per settlement. Settlements already closed are skipped. Returns those refunded."""

    from market.audit.log import audit_record_many

    with tx.atomic():
        settlements = lock_open_settlements(settlement_ids)
        if not settlements:
            return []
        lock_accounts({a for s in settlements for a in (s.payer_account_id, s.payee_account_id)})
        now = timezone.now()
        transfers = [
            Transfer(
                transfer_id=new_id("tr"),
                debit_account_id=s.payer_account_id,
                credit_account_id=s.payee_account_id,
                amount=s.remaining,
                currency=s.currency,
                kind=_REFUND.kind,
                code=_REFUND.code,
                pending_id=s.lock_transfer_id,
                settlement=s,
                reference=s.reference,
                created_at=now,
            )
            for s in settlements
        ]
        sql.insert_rows(Transfer, _REFUND_COLUMNS, [[getattr(t, n) for n in _REFUND_COLUMNS] for t in transfers])
        debit, credit = {}, {}
        for t in transfers:
            debit[t.debit_account_id] = debit.get(t.debit_account_id, 0) + t.amount
            credit[t.credit_account_id] = credit.get(t.credit_account_id, 0) + t.amount
        for field, deltas in (("debits_pending", debit), ("credits_pending", credit)):
            Account.objects.filter(pk__in=deltas).update(
                **{
                    field: F(field)
                    - Case(
                        *[When(pk=pk, then=Value(amount)) for pk, amount in deltas.items()],
                        output_field=Account._meta.get_field(field),
                    )
                }
            )
        states.bulk_transition(
            Settlement.objects.filter(pk__in=[s.pk for s in settlements]),
            "refund",
            refunded=F("locked") - F("released"),
            updated_at=timezone.now(),
        )
        for s in settlements:  # the rows as the bulk transition left them
            s.refunded = s.locked - s.released
            states.transition(s, "refund", save=False)
        audit_record_many(
            [
                {
                    "actor_id": by_actor_id,
                    "action": _REFUND.action,
                    "object_type": "settlement",
                    "object_id": s.settlement_id,
                    "parties": [s.payer_actor_id, s.payee_actor_id],
                    "payload": _settlement_payload(
                        s, amount=format_amount(t.amount, s.currency), reason=reason, transferId=t.transfer_id
                    ),
                }
                for s, t in zip(settlements, transfers, strict=True)
            ]
        )
        return settlements
