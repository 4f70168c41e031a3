"""Ledger services: accounts, deposits, withdrawals and transfers (escrow is market.services.escrow).

Each runs in one transaction, locks rows in the fixed order (settlement, then accounts by id, then
the audit head inside audit_record), re-checks state under the lock and writes its audit event.
The statements of the hot path are plain SQL through market.sql (see there why).
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

from django.db import IntegrityError, transaction

from market import sql, tx
from market.audit.log import audit_leaf
from market.errors import Conflict, InsufficientFunds, InvalidArgument
from market.ids import new_id
from market.locks import lock_accounts_of
from market.models import Account, Transfer
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
# The currency's on-chain reserve: the tokens the vault holds for the ledger. Chain deposits come
# from it and completed withdrawals go back to it, so minus its balance is what the vault should hold.
RESERVE = "vault"
RESERVE_OWNER: Owner = (RESERVE, Account.Kind.EXTERNAL)


def actor_owner(actor_id: str) -> Owner:
    return (actor_id, Account.Kind.ACTOR)


def owner_accounts_lock(currency: str, debit: Owner, credit: Owner) -> tuple[Account, Account]:
    """Find and lock both accounts in one query, by id (the fixed order); open any that does not
    exist yet (rare: first use), then lock again."""
    scale_of(currency)
    accounts = lock_accounts_of(currency, [debit, credit])
    if len(accounts) < 2:
        for actor_id, kind in {debit, credit} - set(accounts):
            account_open(actor_id=actor_id, currency=currency, kind=kind)
        accounts = lock_accounts_of(currency, [debit, credit])
    return accounts[debit], accounts[credit]


def amount_check(amount: int) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise InvalidArgument.field("amount", "must be positive")


def available_check(payer: Account, amount: int, currency: str) -> None:
    """E_INSUFFICIENT_FUNDS unless the (locked) payer account has `amount` available; the refusal
    shows both amounts as decimal strings."""
    if payer.available < amount:
        raise InsufficientFunds(
            "the amount exceeds the available balance",
            details={
                "available": format_amount(payer.available, currency),
                "requested": format_amount(amount, currency),
            },
        )


@cache
def _totals_sql(kind: str) -> tuple[str, tuple[str, ...]]:
    debit_deltas, credit_deltas = _TOTALS[kind]
    names = tuple(sorted({*debit_deltas, *credit_deltas}))
    sets = ", ".join(f"{n} = {n} + CASE WHEN id = %s THEN %s ELSE %s END" for n in names)
    return f"UPDATE market_account SET {sets} WHERE id IN (%s, %s)", names  # noqa: S608 - fixed names


def totals_statement(transfer: Transfer) -> tuple[str, list]:
    """The one UPDATE that moves both accounts' totals for a transfer (rows already locked)."""
    statement, names = _totals_sql(transfer.kind)
    debit_deltas, credit_deltas = _TOTALS[transfer.kind]
    debit_id, amount = transfer.debit_account_id, transfer.amount
    params = [v for n in names for v in (debit_id, debit_deltas.get(n, 0) * amount, credit_deltas.get(n, 0) * amount)]
    return statement, [*params, debit_id, transfer.credit_account_id]


# The transfers that are income and expense (market.selectors.economics): counted by the hour.
SETTLED_KINDS = frozenset({K.POSTED, K.POST_PENDING})
SETTLED_CODES = frozenset({Transfer.Code.ESCROW_RELEASE, Transfer.Code.TRANSFER})


def is_settled(transfer: Transfer) -> bool:
    return transfer.kind in SETTLED_KINDS and transfer.code in SETTLED_CODES


_LEASE_RESOURCE = "COALESCE((SELECT resource_id FROM market_lease WHERE settlement_id = %s), 0)"


@cache
def _hours_sql(with_settlement: bool) -> str:
    resource = _LEASE_RESOURCE if with_settlement else "0"
    row = f"(%s, %s, %s, {resource}, %s, %s, %s, 1)"
    return (
        "INSERT INTO market_accounthour (account_id, hour, counterparty_id, resource_ref, currency, income, "  # noqa: S608
        f"expense, count) VALUES {row}, {row} ON CONFLICT (account_id, hour, counterparty_id, resource_ref) "
        "DO UPDATE SET income = market_accounthour.income + excluded.income, "
        "expense = market_accounthour.expense + excluded.expense, count = market_accounthour.count + excluded.count"
    )


def hours_statement(transfer: Transfer) -> tuple[str, list]:
    """The one upsert that adds a settled transfer to its hour on both accounts (market.models.AccountHour):
    expense on the debited account, income on the credited one."""
    hour = int(transfer.created_at.timestamp()) // 3600
    debit, credit, amount, currency = (
        transfer.debit_account_id,
        transfer.credit_account_id,
        transfer.amount,
        transfer.currency,
    )
    settlement = [transfer.settlement_id] if transfer.settlement_id else []
    params = [debit, hour, credit, *settlement, currency, 0, amount]
    params += [credit, hour, debit, *settlement, currency, amount, 0]
    return _hours_sql(bool(settlement)), params


def create_transfer(*, also: tuple[sql.Part, ...] = (), transfer_id: str = "", **fields: Any) -> Transfer:
    """Insert a transfer, move its accounts' totals, add a settled one to its hour (and run `also`),
    in one round trip on PostgreSQL. `transfer_id`: when the caller needed it first (in its leaf)."""
    transfer = Transfer(transfer_id=transfer_id or new_id("tr"), **fields)
    built = sql.insert_statement(transfer)  # sets created_at, which the hour is taken from
    hours = (hours_statement(transfer),) if is_settled(transfer) else ()
    return sql.insert_with(transfer, totals_statement(transfer), *also, *hours, built=built)


def _replayed(
    key: str | None, *, debit: Owner, credit: Owner, currency: str, amount: int, code: str
) -> Transfer | None:
    """TigerBeetle's 'exists': the same idempotency key again returns the first transfer."""
    if not key:
        return None
    existing = Transfer.objects.select_related("debit_account", "credit_account").filter(idempotency_key=key).first()
    if existing is None:
        return None
    d, c = existing.debit_account, existing.credit_account
    if ((d.actor_id, d.kind), (c.actor_id, c.kind), existing.currency, existing.amount, existing.code) != (
        debit,
        credit,
        currency,
        amount,
        code,
    ):
        raise Conflict(
            "this idempotency key was used for another transfer", details={"reason": "idempotency_key_mismatch"}
        )
    return existing


class _Move(NamedTuple):
    """A kind of posted transfer: its code, its audit action, whether the payer must hold the amount."""

    code: str
    action: str
    check_available: bool


_DEPOSIT = _Move(Transfer.Code.DEPOSIT, "ledger.deposit", check_available=False)
_CHAIN_DEPOSIT = _Move(Transfer.Code.DEPOSIT, "ledger.chain_deposit", check_available=False)
_WITHDRAWAL = _Move(Transfer.Code.WITHDRAWAL, "ledger.withdraw", check_available=True)
_TRANSFER = _Move(Transfer.Code.TRANSFER, "ledger.transfer", check_available=True)


class _Posting(NamedTuple):
    """What the caller of a posted transfer says: how much, by whom, why, and its idempotency key."""

    amount: int
    currency: str
    by_actor_id: str
    reason: str
    reference: str
    idempotency_key: str | None


def _posted_transfer(move: _Move, debit: Owner, credit: Owner, posting: _Posting) -> Transfer:
    amount, currency, code, idempotency_key = posting.amount, posting.currency, move.code, posting.idempotency_key
    amount_check(amount)
    replay_of = {"debit": debit, "credit": credit, "currency": currency, "amount": amount, "code": code}
    with tx.atomic():
        replay = _replayed(idempotency_key, **replay_of)
        if replay is not None:
            return replay
        payer, payee = owner_accounts_lock(currency, debit, credit)
        if move.check_available:
            available_check(payer, amount, currency)
        transfer_id = new_id("tr")
        leaf = audit_leaf(
            actor_id=posting.by_actor_id,
            action=move.action,
            object_type="transfer",
            object_id=transfer_id,
            payload={
                "from": payer.actor_id,
                "to": payee.actor_id,
                "amount": format_amount(amount, currency),
                "currency": currency,
                "code": code,
                "reason": posting.reason,
                "reference": posting.reference,
            },
            parties=[payer.actor_id, payee.actor_id],
        )
        try:
            # A savepoint only where it is caught: a concurrent first use of the same key (the leaf,
            # written with the transfer, goes with it).
            with transaction.atomic() if idempotency_key else tx.atomic():
                return create_transfer(
                    transfer_id=transfer_id,
                    debit_account=payer,
                    credit_account=payee,
                    amount=amount,
                    currency=currency,
                    kind=K.POSTED,
                    code=code,
                    reference=posting.reference,
                    idempotency_key=idempotency_key,
                    also=(leaf,),
                )
        except IntegrityError:
            # a concurrent first use of the same key committed first: answer with its transfer
            replay = _replayed(idempotency_key, **replay_of)
            if replay is None:
                raise
            return replay


def deposit(
    *,
    actor_id: str,
    amount: int,
    currency: str,
    by_actor_id: str = SYSTEM,
    reason: str = "",
    reference: str = "",
    idempotency_key: str | None = None,
) -> Transfer:
    """Money arrives from outside: external -> the actor."""
    posting = _Posting(amount, currency, by_actor_id, reason, reference, idempotency_key)
    return _posted_transfer(_DEPOSIT, EXTERNAL_OWNER, actor_owner(actor_id), posting)


def reserve_deposit(
    *, actor_id: str, amount: int, currency: str, reason: str, reference: str, idempotency_key: str
) -> Transfer:
    """Tokens arrived in the vault for the actor: the currency's on-chain reserve -> the actor."""
    posting = _Posting(amount, currency, SYSTEM, reason, reference, idempotency_key)
    return _posted_transfer(_CHAIN_DEPOSIT, RESERVE_OWNER, actor_owner(actor_id), posting)


def withdraw(
    *,
    actor_id: str,
    amount: int,
    currency: str,
    by_actor_id: str = SYSTEM,
    reason: str = "",
    reference: str = "",
    idempotency_key: str | None = None,
) -> Transfer:
    """Money leaves to the outside: the actor -> external. Never more than is available."""
    posting = _Posting(amount, currency, by_actor_id, reason, reference, idempotency_key)
    return _posted_transfer(_WITHDRAWAL, actor_owner(actor_id), EXTERNAL_OWNER, posting)


def transfer(
    *,
    from_actor_id: str,
    to_actor_id: str,
    amount: int,
    currency: str,
    by_actor_id: str,
    reason: str = "",
    reference: str = "",
    idempotency_key: str | None = None,
) -> Transfer:
    """A direct posted transfer between two actors."""
    if from_actor_id == to_actor_id:
        raise InvalidArgument.field("to", "must differ from the payer")
    posting = _Posting(amount, currency, by_actor_id, reason, reference, idempotency_key)
    return _posted_transfer(_TRANSFER, actor_owner(from_actor_id), actor_owner(to_actor_id), posting)
