"""Ledger services: deposits, withdrawals, transfers and escrow (two-phase transfers).

Each runs in one transaction, locks rows in the fixed order (settlement, then accounts by id, then
the audit head inside audit_record), re-checks state under the lock and writes its audit event.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from market import states
from market.errors import Conflict, InsufficientFunds, InvalidArgument
from market.ids import new_id
from market.locks import lock_accounts, lock_settlement
from market.models import Account, Settlement, Transfer, audit_record
from market.money import format_amount, scale_of

SYSTEM = "system"
EXTERNAL = "external"

K = Transfer.Kind
_TOTALS = {
    # kind -> (debit account deltas, credit account deltas)
    K.POSTED: ({"debits_posted": 1}, {"credits_posted": 1}),
    K.PENDING: ({"debits_pending": 1}, {"credits_pending": 1}),
    K.POST_PENDING: ({"debits_pending": -1, "debits_posted": 1}, {"credits_pending": -1, "credits_posted": 1}),
    K.VOID_PENDING: ({"debits_pending": -1}, {"credits_pending": -1}),
}


def account_open(*, actor_id: str, currency: str, kind: str = Account.Kind.ACTOR) -> Account:
    """The account, opened lazily; safe when two transactions open it at once."""
    scale_of(currency)
    account = Account.objects.filter(actor_id=actor_id, currency=currency, kind=kind).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(actor_id=actor_id, currency=currency, kind=kind)
    except IntegrityError:
        return Account.objects.get(actor_id=actor_id, currency=currency, kind=kind)


def external_account(currency: str) -> Account:
    return account_open(actor_id=EXTERNAL, currency=currency, kind=Account.Kind.EXTERNAL)


def _check_amount(amount: int) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise InvalidArgument.field("amount", "must be positive")


def _apply(transfer: Transfer) -> None:
    """Move the account totals for one transfer (rows already locked)."""
    debit_deltas, credit_deltas = _TOTALS[transfer.kind]
    for account_id, deltas in ((transfer.debit_account_id, debit_deltas),
                               (transfer.credit_account_id, credit_deltas)):
        Account.objects.filter(pk=account_id).update(
            **{name: F(name) + sign * transfer.amount for name, sign in deltas.items()}
        )


def _create_transfer(**fields: Any) -> Transfer:
    transfer = Transfer.objects.create(transfer_id=new_id("tr"), **fields)
    _apply(transfer)
    return transfer


def _replayed(key: str | None, *, debit: Account, credit: Account, amount: int, code: str) -> Transfer | None:
    """TigerBeetle's 'exists': the same idempotency key again returns the first transfer."""
    if not key:
        return None
    existing = Transfer.objects.filter(idempotency_key=key).first()
    if existing is None:
        return None
    if (existing.debit_account_id, existing.credit_account_id, existing.amount, existing.code) != (
        debit.pk, credit.pk, amount, code
    ):
        raise Conflict("this idempotency key was used for another transfer",
                       details={"reason": "idempotency_key_mismatch"})
    return existing


def _posted_transfer(*, debit: Account, credit: Account, amount: int, code: str, by_actor_id: str,
                     reason: str, reference: str, idempotency_key: str | None, action: str,
                     check_available: bool) -> Transfer:
    _check_amount(amount)
    with transaction.atomic():
        replay = _replayed(idempotency_key, debit=debit, credit=credit, amount=amount, code=code)
        if replay is not None:
            return replay
        accounts = lock_accounts([debit.pk, credit.pk])
        payer = accounts[debit.pk]
        if check_available and payer.available < amount:
            raise InsufficientFunds(
                "the amount exceeds the available balance",
                details={"available": format_amount(payer.available, payer.currency),
                         "requested": format_amount(amount, payer.currency)},
            )
        try:
            with transaction.atomic():
                transfer = _create_transfer(
                    debit_account=debit, credit_account=credit, amount=amount, currency=debit.currency,
                    kind=K.POSTED, code=code, reference=reference, idempotency_key=idempotency_key,
                )
        except IntegrityError:
            replay = _replayed(idempotency_key, debit=debit, credit=credit, amount=amount, code=code)
            if replay is None:
                raise
            return replay
        audit_record(
            actor_id=by_actor_id, action=action, object_type="transfer", object_id=transfer.transfer_id,
            payload={"from": debit.actor_id, "to": credit.actor_id, "amount": format_amount(amount, debit.currency),
                     "currency": debit.currency, "code": code, "reason": reason, "reference": reference},
            parties=[debit.actor_id, credit.actor_id],
        )
        return transfer


def deposit(*, actor_id: str, amount: int, currency: str, by_actor_id: str = SYSTEM, reason: str = "",
            reference: str = "", idempotency_key: str | None = None) -> Transfer:
    """Money arrives from outside: external -> the actor."""
    return _posted_transfer(
        debit=external_account(currency), credit=account_open(actor_id=actor_id, currency=currency),
        amount=amount, code=Transfer.Code.DEPOSIT, by_actor_id=by_actor_id, reason=reason,
        reference=reference, idempotency_key=idempotency_key, action="ledger.deposit", check_available=False,
    )


def withdraw(*, actor_id: str, amount: int, currency: str, by_actor_id: str = SYSTEM, reason: str = "",
             reference: str = "", idempotency_key: str | None = None) -> Transfer:
    """Money leaves to the outside: the actor -> external. Never more than is available."""
    return _posted_transfer(
        debit=account_open(actor_id=actor_id, currency=currency), credit=external_account(currency),
        amount=amount, code=Transfer.Code.WITHDRAWAL, by_actor_id=by_actor_id, reason=reason,
        reference=reference, idempotency_key=idempotency_key, action="ledger.withdraw", check_available=True,
    )


def transfer(*, from_actor_id: str, to_actor_id: str, amount: int, currency: str, by_actor_id: str,
             reason: str = "", reference: str = "", idempotency_key: str | None = None) -> Transfer:
    """A direct posted transfer between two actors."""
    if from_actor_id == to_actor_id:
        raise InvalidArgument.field("to", "must differ from the payer")
    return _posted_transfer(
        debit=account_open(actor_id=from_actor_id, currency=currency),
        credit=account_open(actor_id=to_actor_id, currency=currency),
        amount=amount, code=Transfer.Code.TRANSFER, by_actor_id=by_actor_id, reason=reason,
        reference=reference, idempotency_key=idempotency_key, action="ledger.transfer", check_available=True,
    )


def _settlement_payload(s: Settlement, **extra: Any) -> dict[str, Any]:
    return {
        "currency": s.currency, "payer": s.payer_actor_id, "payee": s.payee_actor_id,
        "locked": format_amount(s.locked, s.currency), "released": format_amount(s.released, s.currency),
        "refunded": format_amount(s.refunded, s.currency), "status": s.status, "reference": s.reference,
        **extra,
    }


def escrow_lock(*, payer_actor_id: str, payee_actor_id: str, amount: int, currency: str, by_actor_id: str,
                reference: str = "") -> Settlement:
    """Reserve `amount` of the payer's available balance for the payee (a pending transfer)."""
    _check_amount(amount)
    if payer_actor_id == payee_actor_id:
        raise InvalidArgument("payer and payee must differ")
    payer = account_open(actor_id=payer_actor_id, currency=currency)
    payee = account_open(actor_id=payee_actor_id, currency=currency)
    with transaction.atomic():
        accounts = lock_accounts([payer.pk, payee.pk])
        if accounts[payer.pk].available < amount:
            raise InsufficientFunds(
                "the amount exceeds the available balance",
                details={"available": format_amount(accounts[payer.pk].available, currency),
                         "requested": format_amount(amount, currency)},
            )
        settlement = Settlement.objects.create(
            settlement_id=new_id("stl"), currency=currency, payer_actor_id=payer_actor_id,
            payee_actor_id=payee_actor_id, payer_account=payer, payee_account=payee, locked=amount,
            reference=reference,
        )
        lock = _create_transfer(
            debit_account=payer, credit_account=payee, amount=amount, currency=currency, kind=K.PENDING,
            code=Transfer.Code.ESCROW_LOCK, settlement=settlement, reference=reference,
        )
        settlement.lock_transfer = lock
        settlement.save(update_fields=["lock_transfer"])
        audit_record(actor_id=by_actor_id, action="settlement.lock", object_type="settlement",
                     object_id=settlement.settlement_id, payload=_settlement_payload(settlement),
                     parties=[payer_actor_id, payee_actor_id])
        return settlement


def _lock_open_settlement(settlement_id: str) -> tuple[Settlement, dict[int, Account]]:
    settlement = lock_settlement(settlement_id)
    if not settlement.is_open:
        raise Conflict(f"the settlement is closed ({settlement.status})",
                       details={"status": settlement.status})
    accounts = lock_accounts([settlement.payer_account_id, settlement.payee_account_id])
    return settlement, accounts


def escrow_release(*, settlement_id: str, by_actor_id: str, amount: int | None = None, reason: str = "",
                   reference: str = "") -> Settlement:
    """Post all (amount=None) or part of what remains to the payee. Partial releases may repeat."""
    with transaction.atomic():
        settlement, _ = _lock_open_settlement(settlement_id)
        remaining = settlement.remaining
        amount = remaining if amount is None else amount
        _check_amount(amount)
        if amount > remaining:
            raise InvalidArgument(
                "the release exceeds what remains locked",
                details={"fields": {"amount": "exceeds the remaining amount"},
                         "remaining": format_amount(remaining, settlement.currency)},
            )
        _create_transfer(
            debit_account_id=settlement.payer_account_id, credit_account_id=settlement.payee_account_id,
            amount=amount, currency=settlement.currency, kind=K.POST_PENDING, code=Transfer.Code.ESCROW_RELEASE,
            pending_id=settlement.lock_transfer_id, settlement=settlement,
            reference=reference or settlement.reference,
        )
        settlement.released += amount
        states.transition(settlement, "release_all" if amount == remaining else "release_part",
                          update_fields=["released"])
        audit_record(actor_id=by_actor_id, action="settlement.release", object_type="settlement",
                     object_id=settlement.settlement_id,
                     payload=_settlement_payload(settlement, amount=format_amount(amount, settlement.currency),
                                                 reason=reason),
                     parties=[settlement.payer_actor_id, settlement.payee_actor_id])
        return settlement


def escrow_refund(*, settlement_id: str, by_actor_id: str, reason: str = "", reference: str = "") -> Settlement:
    """Void everything that remains back to the payer; closes the settlement."""
    with transaction.atomic():
        settlement, _ = _lock_open_settlement(settlement_id)
        remaining = settlement.remaining
        if remaining > 0:
            _create_transfer(
                debit_account_id=settlement.payer_account_id, credit_account_id=settlement.payee_account_id,
                amount=remaining, currency=settlement.currency, kind=K.VOID_PENDING,
                code=Transfer.Code.ESCROW_REFUND, pending_id=settlement.lock_transfer_id, settlement=settlement,
                reference=reference or settlement.reference,
            )
        settlement.refunded += remaining
        states.transition(settlement, "refund", update_fields=["refunded"])
        audit_record(actor_id=by_actor_id, action="settlement.refund", object_type="settlement",
                     object_id=settlement.settlement_id,
                     payload=_settlement_payload(settlement, amount=format_amount(remaining, settlement.currency),
                                                 reason=reason),
                     parties=[settlement.payer_actor_id, settlement.payee_actor_id])
        return settlement


def escrow_refund_many(*, settlement_ids: list[str], by_actor_id: str, reason: str = "") -> list[Settlement]:
    """escrow_refund for many settlements at once (the expiry sweeps' set-based form): locks the open
    ones (then their accounts by id), voids what remains of each with one transfer apiece, moves the
    account totals with one UPDATE, closes the settlements through the bulk transition and writes
    one audit event per settlement. Settlements already closed are skipped. Returns those refunded."""
    from django.db.models import Case, Value, When
    from django.utils import timezone

    from market.models.audit import audit_record_many

    with transaction.atomic():
        settlements = list(Settlement.objects.select_for_update()
                           .filter(settlement_id__in=settlement_ids, status__in=Settlement.OPEN).order_by("pk"))
        if not settlements:
            return []
        lock_accounts({a for s in settlements for a in (s.payer_account_id, s.payee_account_id)})
        transfers = [Transfer(
            transfer_id=new_id("tr"), debit_account_id=s.payer_account_id, credit_account_id=s.payee_account_id,
            amount=s.remaining, currency=s.currency, kind=K.VOID_PENDING, code=Transfer.Code.ESCROW_REFUND,
            pending_id=s.lock_transfer_id, settlement=s, reference=s.reference,
        ) for s in settlements]
        Transfer.objects.bulk_create(transfers)
        debit, credit = {}, {}
        for t in transfers:
            debit[t.debit_account_id] = debit.get(t.debit_account_id, 0) + t.amount
            credit[t.credit_account_id] = credit.get(t.credit_account_id, 0) + t.amount
        for field, deltas in (("debits_pending", debit), ("credits_pending", credit)):
            Account.objects.filter(pk__in=deltas).update(**{field: F(field) - Case(
                *[When(pk=pk, then=Value(amount)) for pk, amount in deltas.items()],
                output_field=Account._meta.get_field(field))})
        states.bulk_transition(Settlement.objects.filter(pk__in=[s.pk for s in settlements]), "refund",
                               refunded=F("locked") - F("released"), updated_at=timezone.now())
        for s in settlements:
            s.refunded, s.status = s.locked - s.released, Settlement.Status.REFUNDED
        audit_record_many([{
            "actor_id": by_actor_id, "action": "settlement.refund", "object_type": "settlement",
            "object_id": s.settlement_id, "parties": [s.payer_actor_id, s.payee_actor_id],
            "payload": _settlement_payload(s, amount=format_amount(t.amount, s.currency), reason=reason),
        } for s, t in zip(settlements, transfers, strict=True)])
        return settlements
