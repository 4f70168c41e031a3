"""web3.funds.depositInfo, web3.funds.withdraw, web3.funds.list: tokens on chain."""

from rest_framework import serializers

from market.errors import InvalidArgument
from market.selectors import funds as funds_selectors
from market.services import funds
from web3api import status
from web3api.money import amounts_to_minor, currency_field, money_field
from web3api.pagination import paginate
from web3api.registry import method
from web3api.serializers import ADDRESS_PATTERN, Params, cursor_field, limit_field
from web3api.shapes.funds import DepositInfoResult, FundsListResult, WithdrawalSerializer

UNAVAILABLE = "E_UNAVAILABLE when the chain is not configured: the message names the settings to set."


class DepositInfoParams(Params):
    currency = currency_field()
    amount = money_field("The amount to deposit.", currency="currency")

    def validate(self, attrs):
        return amounts_to_minor(self, attrs)


@method(
    name="web3.funds.depositInfo",
    summary="How to deposit tokens: the chain, the vault, the token and the calls to sign, ready made.",
    group="funds",
    read_only=True,
    params=DepositInfoParams,
    result=DepositInfoResult,
    permissions=["any signed-in actor; the deposit call names the caller's actor id"],
    description="Send `calls` in order from the wallet that pays (the token's approve, then the vault's deposit "
    "for the caller's actor id); the market credits the caller once the deposit has `confirmations` blocks. "
    + UNAVAILABLE,
    examples=[{"params": {"currency": "USDC", "amount": "25.00"}}],
)
def deposit_info(call, params):
    return funds.deposit_info(actor_id=call.actor_id, currency=params["currency"], amount=params["amount"])


class WithdrawParams(Params):
    amount = money_field("The amount to withdraw.", currency="currency")
    currency = currency_field()
    to = serializers.RegexField(
        ADDRESS_PATTERN,
        max_length=42,
        required=False,
        help_text="The receiving wallet (0x + 40 hex); default: the caller's.",
    )

    def validate(self, attrs):
        return amounts_to_minor(self, attrs)


@method(
    name="web3.funds.withdraw",
    summary="Withdraw tokens from the vault to a wallet.",
    group="funds",
    params=WithdrawParams,
    result=WithdrawalSerializer,
    moves_money=True,
    risk="high",
    permissions=["any signed-in actor, from its own available balance"],
    errors=["E_INSUFFICIENT_FUNDS"],
    description="Holds the amount from the available balance at once and records the withdrawal; the market sends "
    "the vault's withdraw, completes it after the confirmations, or refunds it if the chain refuses it for good "
    "(web3.funds.list shows its state). Send an Idempotency-Key: a retry with the same key withdraws once. "
    + UNAVAILABLE,
    examples=[{"params": {"amount": "10.00", "currency": "USDC"}}],
    unexpressible={"to": "must be a wallet: neither the zero address nor the vault's address"},
)
def withdraw(call, params):
    return funds.withdrawal_request(
        actor_id=call.actor_id, amount=params["amount"], currency=params["currency"], to_address=params.get("to")
    )


class FundsListParams(Params):
    kind = serializers.ChoiceField(
        choices=["deposit", "withdrawal"],
        required=False,
        help_text="Only deposits or only withdrawals (then pages with nextCursor); without it the newest "
        "`limit` of both.",
    )
    limit = limit_field()
    cursor = cursor_field()


@method(
    name="web3.funds.list",
    summary="The caller's deposits and withdrawals, newest first, with tx hashes, confirmations and states.",
    group="funds",
    read_only=True,
    params=FundsListParams,
    result=FundsListResult,
    permissions=["an actor sees only its own"],
    description="States: " + funds_selectors.state_tables_text() + ". Confirmations count from the chain head "
    "the deposit job last read. A cursor pages one kind: pass `kind` with it.",
)
def funds_list(call, params):
    head = funds_selectors.chain_head()
    kind = params.get("kind")
    if kind is not None:
        qs = (funds_selectors.deposits_of if kind == "deposit" else funds_selectors.withdrawals_of)(call.actor_id)
        return paginate(qs, params, lambda row: funds_selectors.funds_item(row, head))
    if params.get("cursor"):
        raise InvalidArgument.field("cursor", "a cursor pages one kind: pass kind with it")
    return {"items": funds_selectors.funds_recent(call.actor_id, params["limit"], head), "nextCursor": None}


@status.part("funds")
def funds_status() -> tuple[str, str]:
    return funds_selectors.funds_health()
