"""Funds on chain: what to sign to deposit, and deposits and withdrawals as web3.funds.* show them."""

from __future__ import annotations

from rest_framework import serializers

from market.models import Deposit, Withdrawal
from web3api.money import AmountOut

HEX_ADDRESS = "Lowercase 0x address."


class CallSerializer(serializers.Serializer):
    to = serializers.CharField(help_text="The contract to call (" + HEX_ADDRESS + ")")
    data = serializers.CharField(help_text="0x calldata, ABI-encoded: send it as the transaction's data, value 0.")
    description = serializers.CharField()


class DepositInfoResult(serializers.Serializer):
    chainId = serializers.IntegerField()
    vault = serializers.CharField(help_text="The MarketVault contract. " + HEX_ADDRESS)
    token = serializers.CharField(help_text="The currency's ERC-20 token. " + HEX_ADDRESS)
    currency = serializers.CharField()
    decimals = serializers.IntegerField(help_text="The token's decimals (= the currency's scale).")
    amount = AmountOut(help_text="Decimal string.")
    amountMinor = serializers.CharField(source="amount", help_text="The amount in the token's base units.")
    confirmations = serializers.IntegerField(
        help_text="Blocks (the deposit's own included) before the deposit is credited."
    )
    calls = CallSerializer(
        many=True,
        help_text="Sign and send them in order from the paying wallet: the token's approve, then the vault's "
        "deposit naming the caller's actor id.",
    )


class FundsItemSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["deposit", "withdrawal"])
    id = serializers.CharField(help_text="depositId (dep_...) or withdrawalId (wd_...).")
    status = serializers.ChoiceField(choices=[*Deposit.Status.values, *Withdrawal.Status.values])
    currency = serializers.CharField()
    amount = AmountOut(help_text="Decimal string.")
    token = serializers.CharField(help_text=HEX_ADDRESS)
    chainId = serializers.IntegerField(allow_null=True)
    txHash = serializers.CharField(allow_null=True, help_text="null until a withdrawal is signed.")
    blockNumber = serializers.IntegerField(allow_null=True, help_text="The block it was mined in, once known.")
    confirmations = serializers.IntegerField(help_text="Blocks since it was mined, its own included (0 if not).")
    # "from" is a keyword: declared below
    to = serializers.CharField(allow_null=True, help_text="A withdrawal's receiving wallet.")
    createdAt = serializers.DateTimeField()
    finishedAt = serializers.DateTimeField(allow_null=True, help_text="Credited, completed or refunded at.")


FundsItemSerializer._declared_fields["from"] = serializers.CharField(
    allow_null=True, help_text="A deposit's paying wallet."
)


class FundsListResult(serializers.Serializer):
    items = FundsItemSerializer(many=True)
    nextCursor = serializers.CharField(allow_null=True)


class WithdrawalSerializer(serializers.Serializer):
    withdrawalId = serializers.CharField(source="withdrawal_id")
    status = serializers.ChoiceField(choices=Withdrawal.Status.values)
    actorId = serializers.CharField(source="actor_id")
    currency = serializers.CharField()
    amount = AmountOut(help_text="Decimal string, held from the available balance until completed or refunded.")
    token = serializers.CharField(help_text=HEX_ADDRESS)
    to = serializers.CharField(source="to_address", help_text=HEX_ADDRESS)
    withdrawalRef = serializers.CharField(source="chain_ref", help_text="The vault's withdrawalId (bytes32).")
    txHash = serializers.SerializerMethodField(help_text="null until signed.")
    createdAt = serializers.DateTimeField(source="created_at")

    def get_txHash(self, obj) -> str | None:  # noqa: N802 - the wire name
        return obj.tx_hash or None
