"""Ledger services: deposits, withdrawals, transfers and escrow (two-phase transfers).

Each runs in one transaction, locks rows in the fixed order (settlement, then accounts by id, then
the audit head inside audit_record), re-checks state under the lock and writes its audit event.
The statements of the hot path are plain SQL through market.sql (see there why).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from market import sql, states
from market.audit.log import audit_record
from market.errors import Conflict, InsufficientFunds, InvalidArgument
from market.ids import new_id
from market.locks import lock_account_rows, lock_accounts, lock_accounts_of, lock_settlement
from market.models import Account, Settlement, Transfer
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


Owner = tuple[str, str]  # (actor_id, account kind)
EXTERNAL_OWNER: Owner = (EXTERNAL, Account.Kind.EXTERNAL)


def _actor(actor_id: str) -> Owner:
    return (actor_id, Account.Kind.ACTOR)


def _lock_owner_accounts(currency: str, debit: Owner, credit: Owner) -> tuple[Account, Account]:
    """Find and lock both accounts in one query, by id (the fixed order); open any that does not
    exist yet (rare: first use), then lock again."""
    scale_of(currency)
    accounts = lock_accounts_of(currency, [debit, credit])
    if len(accounts) < 2:
        for actor_id, kind in {debit, credit} - set(accounts):
            account_open(actor_id=actor_id, currency=currency, kind=kind)
        accounts = lock_accounts_of(currency, [debit, credit])
    return accounts[debit], accounts[credit]


def _check_amount(amount: int) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise InvalidArgument.field("amount", "must be positive")


@cache
def _totals_sql(kind: str) -> tuple[str, tuple[str, ...]]:
    debit_deltas, credit_deltas = _TOTALS[kind]
    names = tuple(sorted({*debit_deltas, *credit_deltas}))
    sets = ", ".join(f"{n} = {n} + CASE WHEN id = %s THEN %s ELSE %s END" for n in names)
    return f"UPDATE market_account SET {sets} WHERE id IN (%s, %s)", names  # noqa: S608 - fixed names


def _totals_statement(transfer: Transfer) -> tuple[str, list]:
    """The one UPDATE that moves both accounts' totals for a transfer (rows already locked)."""
    statement, names = _totals_sql(transfer.kind)
    debit_deltas, credit_deltas = _TOTALS[transfer.kind]
    debit_id, amount = transfer.debit_account_id, transfer.amount
    params = [v for n in names for v in (debit_id, debit_deltas.get(n, 0) * amount, credit_deltas.get(n, 0) * amount)]
    return statement, [*params, debit_id, transfer.credit_account_id]


def _create_transfer(*, also: tuple[tuple[str, list], ...] = (), **fields: Any) -> Transfer:
    """Insert a transfer and move its accounts' totals (and run `also`), in one round trip on PostgreSQL."""
    transfer = Transfer(transfer_id=new_id("tr"), **fields)
    return sql.insert_with(transfer, _totals_statement(transfer), *also)


def _replayed(key: str | None, *, debit: Owner, credit: Owner, currency: str, amount: int,
              code: str) -> Transfer | None:
    """TigerBeetle's 'exists': the same idempotency key again returns the first transfer."""
    if not key:
        return None
    existing = (Transfer.objects.select_related("debit_account", "credit_account")
                .filter(idempotency_key=key).first())
    if existing is None:
        return None
    d, c = existing.debit_account, existing.credit_account
    if ((d.actor_id, d.kind), (c.actor_id, c.kind), existing.currency, existing.amount, existing.code) != (
        debit, credit, currency, amount, code
    ):
        raise Conflict("this idempotency key was used for another transfer",
                       details={"reason": "idempotency_key_mismatch"})
    return existing


def _posted_transfer(*, debit: Owner, credit: Owner, currency: str, amount: int, code: str, by_actor_id: str,
                     reason: str, reference: str, idempotency_key: str | None, action: str,
                     check_available: bool) -> Transfer:
    _check_amount(amount)
    replay_of = {"debit": debit, "credit": credit, "currency": currency, "amount": amount, "code": code}
    with transaction.atomic():
        replay = _replayed(idempotency_key, **replay_of)
        if replay is not None:
            return replay
        payer, payee = _lock_owner_accounts(currency, debit, credit)
        if check_available and payer.available < amount:
            raise InsufficientFunds(
                "the amount exceeds the available balance",
                details={"available": format_amount(payer.available, currency),
                         "requested": format_amount(amount, currency)},
            )
        try:
            with transaction.atomic():
                transfer = _create_transfer(
                    debit_account=payer, credit_account=payee, amount=amount, currency=currency,
                    kind=K.POSTED, code=code, reference=reference, idempotency_key=idempotency_key,
                )
        except IntegrityError:
            # a concurrent first use of the same key committed first: answer with its transfer
            replay = _replayed(idempotency_key, **replay_of)
            if replay is None:
                raise
            return replay
        audit_record(
            actor_id=by_actor_id, action=action, object_type="transfer", object_id=transfer.transfer_id,
            payload={"from": payer.actor_id, "to": payee.actor_id, "amount": format_amount(amount, currency),
                     "currency": currency, "code": code, "reason": reason, "reference": reference},
            parties=[payer.actor_id, payee.actor_id],
        )
        return transfer


def deposit(*, actor_id: str, amount: int, currency: str, by_actor_id: str = SYSTEM, reason: str = "",
            reference: str = "", idempotency_key: str | None = None) -> Transfer:
    """Money arrives from outside: external -> the actor."""
    return _posted_transfer(
        debit=EXTERNAL_OWNER, credit=_actor(actor_id), currency=currency, amount=amount,
        code=Transfer.Code.DEPOSIT, by_actor_id=by_actor_id, reason=reason, reference=reference,
        idempotency_key=idempotency_key, action="ledger.deposit", check_available=False,
    )


def withdraw(*, actor_id: str, amount: int, currency: str, by_actor_id: str = SYSTEM, reason: str = "",
             reference: str = "", idempotency_key: str | None = None) -> Transfer:
    """Money leaves to the outside: the actor -> external. Never more than is available."""
    return _posted_transfer(
        debit=_actor(actor_id), credit=EXTERNAL_OWNER, currency=currency, amount=amount,
        code=Transfer.Code.WITHDRAWAL, by_actor_id=by_actor_id, reason=reason, reference=reference,
        idempotency_key=idempotency_key, action="ledger.withdraw", check_available=True,
    )


def transfer(*, from_actor_id: str, to_actor_id: str, amount: int, currency: str, by_actor_id: str,
             reason: str = "", reference: str = "", idempotency_key: str | None = None) -> Transfer:
    """A direct posted transfer between two actors."""
    if from_actor_id == to_actor_id:
        raise InvalidArgument.field("to", "must differ from the payer")
    return _posted_transfer(
        debit=_actor(from_actor_id), credit=_actor(to_actor_id), currency=currency, amount=amount,
        code=Transfer.Code.TRANSFER, by_actor_id=by_actor_id, reason=reason, reference=reference,
        idempotency_key=idempotency_key, action="ledger.transfer", check_available=True,
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
    with transaction.atomic():
        payer, payee = _lock_owner_accounts(currency, _actor(payer_actor_id), _actor(payee_actor_id))
        if payer.available < amount:
            raise InsufficientFunds(
                "the amount exceeds the available balance",
                details={"available": format_amount(payer.available, currency),
                         "requested": format_amount(amount, currency)},
            )
        settlement = Settlement(
            settlement_id=new_id("stl"), currency=currency, payer_actor_id=payer_actor_id,
            payee_actor_id=payee_actor_id, payer_account=payer, payee_account=payee, locked=amount,
            reference=reference,
        )
        lock = Transfer(
            transfer_id=new_id("tr"), debit_account=payer, credit_account=payee, amount=amount, currency=currency,
            kind=K.PENDING, code=Transfer.Code.ESCROW_LOCK, reference=reference,
        )
        sql.insert_linked(settlement, lock, a_to_b="lock_transfer", b_to_a="settlement",
                          also=_totals_statement(lock))
        audit_record(actor_id=by_actor_id, action="settlement.lock", object_type="settlement",
                     object_id=settlement.settlement_id,
                     payload=_settlement_payload(settlement, amount=format_amount(amount, currency),
                                                 transferId=lock.transfer_id),
                     parties=[payer_actor_id, payee_actor_id])
        return settlement


def _lock_open_settlement(settlement_id: str) -> Settlement:
    settlement = lock_settlement(settlement_id)
    if not settlement.is_open:
        raise Conflict(f"the settlement is closed ({settlement.status})",
                       details={"status": settlement.status})
    lock_account_rows([settlement.payer_account_id, settlement.payee_account_id])
    return settlement


def escrow_release(*, settlement_id: str, by_actor_id: str, amount: int | None = None, reason: str = "",
                   reference: str = "") -> Settlement:
    """Post all (amount=None) or part of what remains to the payee. Partial releases may repeat."""
    with transaction.atomic():
        settlement = _lock_open_settlement(settlement_id)
        remaining = settlement.remaining
        amount = remaining if amount is None else amount
        _check_amount(amount)
        if amount > remaining:
            raise InvalidArgument(
                "the release exceeds what remains locked",
                details={"fields": {"amount": "exceeds the remaining amount"},
                         "remaining": format_amount(remaining, settlement.currency)},
            )
        settlement.released += amount
        states.transition(settlement, "release_all" if amount == remaining else "release_part", save=False)
        post = _create_transfer(
            debit_account_id=settlement.payer_account_id, credit_account_id=settlement.payee_account_id,
            amount=amount, currency=settlement.currency, kind=K.POST_PENDING, code=Transfer.Code.ESCROW_RELEASE,
            pending_id=settlement.lock_transfer_id, settlement=settlement,
            reference=reference or settlement.reference,
            also=(sql.update_statement(settlement, ["status", "released", "updated_at"]),),
        )
        audit_record(actor_id=by_actor_id, action="settlement.release", object_type="settlement",
                     object_id=settlement.settlement_id,
                     payload=_settlement_payload(settlement, amount=format_amount(amount, settlement.currency),
                                                 reason=reason, transferId=post.transfer_id),
                     parties=[settlement.payer_actor_id, settlement.payee_actor_id])
        return settlement


def escrow_refund(*, settlement_id: str, by_actor_id: str, reason: str = "", reference: str = "") -> Settlement:
    """Void everything that remains back to the payer; closes the settlement."""
    with transaction.atomic():
        settlement = _lock_open_settlement(settlement_id)
        remaining = settlement.remaining  # > 0: an open settlement always has something left
        settlement.refunded += remaining
        states.transition(settlement, "refund", save=False)
        void = _create_transfer(
            debit_account_id=settlement.payer_account_id, credit_account_id=settlement.payee_account_id,
            amount=remaining, currency=settlement.currency, kind=K.VOID_PENDING,
            code=Transfer.Code.ESCROW_REFUND, pending_id=settlement.lock_transfer_id, settlement=settlement,
            reference=reference or settlement.reference,
            also=(sql.update_statement(settlement, ["status", "refunded", "updated_at"]),),
        )
        audit_record(actor_id=by_actor_id, action="settlement.refund", object_type="settlement",
                     object_id=settlement.settlement_id,
                     payload=_settlement_payload(settlement, amount=format_amount(remaining, settlement.currency),
                                                 reason=reason, transferId=void.transfer_id),
                     parties=[settlement.payer_actor_id, settlement.payee_actor_id])
        return settlement


def escrow_refund_many(*, settlement_ids: list[str], by_actor_id: str, reason: str = "") -> list[Settlement]:
    """escrow_refund for many settlements at once (the expiry sweeps' set-based form): locks the open
    ones (then their accounts by id), voids what remains of each with one transfer apiece, moves the
    account totals with one UPDATE, closes the settlements through the bulk transition and writes
    one audit event per settlement. Settlements already closed are skipped. Returns those refunded."""
    from django.db.models import Case, Value, When
    from django.utils import timezone

    from market.audit.log import audit_record_many

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
            "payload": _settlement_payload(s, amount=format_amount(t.amount, s.currency), reason=reason,
                                           transferId=t.transfer_id),
        } for s, t in zip(settlements, transfers, strict=True)])
        return settlements
