"""web3.admin.creditAccount and web3.admin.debitAccount (staff): deposits and withdrawals."""

from rest_framework import serializers

from market.money import format_amount, parse_amount
from market.selectors.ledger import balances
from market.services import ledger
from web3api.money import currency_field, money_field
from web3api.registry import method
from web3api.serializers import Params, actor_id_field


class AccountMoveParams(Params):
    actorId = actor_id_field()
    amount = money_field("The amount.", currency="currency")
    currency = currency_field()
    reason = serializers.CharField(max_length=500, help_text="Why; recorded in the audit log.")


class AccountMoveResult(serializers.Serializer):
    transferId = serializers.CharField()
    actorId = serializers.CharField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    code = serializers.ChoiceField(choices=["deposit", "withdrawal"])
    available = serializers.CharField(help_text="The actor's available balance afterwards.")
    createdAt = serializers.DateTimeField()


def _out(t, actor_id):
    c = t.currency
    return {
        "transferId": t.transfer_id,
        "actorId": actor_id,
        "amount": format_amount(t.amount, c),
        "currency": c,
        "code": t.code,
        "available": format_amount(balances(actor_id)[c]["available"], c),
        "createdAt": t.created_at,
    }


@method(
    name="web3.admin.creditAccount",
    summary="Deposit: credit an actor's account from outside.",
    moves_money=True,
    group="admin",
    auth="staff",
    params=AccountMoveParams,
    result=AccountMoveResult,
    risk="high",
    permissions=["staff only"],
    examples=[
        {"params": {"actorId": "0x" + "ab" * 20, "amount": "100.00", "currency": "USDC", "reason": "bank deposit"}}
    ],
    description="Moves money from the external account to the actor. Send an Idempotency-Key: a retry with "
    "the same key and params returns the first answer and credits once.",
)
def admin_credit(call, params):
    t = ledger.deposit(
        actor_id=params["actorId"],
        amount=parse_amount(params["amount"], params["currency"]),
        currency=params["currency"],
        by_actor_id=call.actor_id,
        reason=params["reason"],
    )
    return _out(t, params["actorId"])


@method(
    name="web3.admin.debitAccount",
    summary="Withdrawal: debit an actor's account to the outside.",
    moves_money=True,
    group="admin",
    auth="staff",
    params=AccountMoveParams,
    result=AccountMoveResult,
    risk="high",
    permissions=["staff only"],
    errors=["E_INSUFFICIENT_FUNDS"],
    description="Moves money from the actor to the external account; never more than is available.",
)
def admin_debit(call, params):
    t = ledger.withdraw(
        actor_id=params["actorId"],
        amount=parse_amount(params["amount"], params["currency"]),
        currency=params["currency"],
        by_actor_id=call.actor_id,
        reason=params["reason"],
    )
    return _out(t, params["actorId"])
