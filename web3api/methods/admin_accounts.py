"""web3.admin.creditAccount and web3.admin.debitAccount (staff): deposits and withdrawals."""

from collections.abc import Callable

from rest_framework import serializers

from market.models import Transfer
from market.selectors.ledger import AccountMove, account_move
from market.services import ledger
from web3api.money import amounts_to_minor, currency_field, money_field
from web3api.registry import method
from web3api.serializers import Params, actor_id_field
from web3api.shapes.ledger import AccountMoveResult


class AccountMoveParams(Params):
    actorId = actor_id_field()
    amount = money_field("The amount.", currency="currency")
    currency = currency_field()
    reason = serializers.CharField(max_length=500, help_text="Why; recorded in the audit log.")

    def validate(self, attrs):
        return amounts_to_minor(self, attrs)


def _move(service: Callable[..., Transfer], call, params) -> AccountMove:
    transfer = service(
        actor_id=params["actorId"],
        amount=params["amount"],
        currency=params["currency"],
        by_actor_id=call.actor_id,
        reason=params["reason"],
    )
    return account_move(transfer, actor_id=params["actorId"])


# What both staff account moves declare: they move money, staff only, the same params and result.
_ACCOUNT_MOVE = {
    "moves_money": True,
    "group": "admin",
    "auth": "staff",
    "params": AccountMoveParams,
    "result": AccountMoveResult,
    "risk": "high",
    "permissions": ["staff only"],
}


@method(
    name="web3.admin.creditAccount",
    summary="Deposit: credit an actor's account from outside.",
    **_ACCOUNT_MOVE,
    examples=[
        {"params": {"actorId": "0x" + "ab" * 20, "amount": "100.00", "currency": "USDC", "reason": "bank deposit"}}
    ],
    description="Moves money from the external account to the actor. Send an Idempotency-Key: a retry with "
    "the same key and params returns the first answer and credits once.",
)
def admin_credit(call, params):
    return _move(ledger.deposit, call, params)


@method(
    name="web3.admin.debitAccount",
    summary="Withdrawal: debit an actor's account to the outside.",
    **_ACCOUNT_MOVE,
    errors=["E_INSUFFICIENT_FUNDS"],
    description="Moves money from the actor to the external account; never more than is available.",
)
def admin_debit(call, params):
    return _move(ledger.withdraw, call, params)
