"""Settlement, ledger entries, the money figures per currency (ledger and billing summaries) and
the receipt of a deposit or withdrawal."""

from __future__ import annotations

from rest_framework import serializers

from market.models import Settlement, Transfer
from web3api.money import AmountOut
from web3api.serializers import KeyedResult

LOCK_STATES = ["pending", "posted", "partially_posted", "voided"]


class SettlementSerializer(serializers.Serializer):
    settlementId = serializers.CharField(source="settlement_id")
    status = serializers.ChoiceField(choices=Settlement.Status.values)
    currency = serializers.CharField()
    payerActorId = serializers.CharField(source="payer_actor_id")
    payeeActorId = serializers.CharField(source="payee_actor_id")
    locked = AmountOut(help_text="Decimal string.")
    released = AmountOut(help_text="Decimal string.")
    refunded = AmountOut(help_text="Decimal string.")
    remaining = AmountOut(help_text="locked - released - refunded.")
    reference = serializers.CharField(help_text="The object the settlement belongs to, e.g. lease:lease_...")
    createdAt = serializers.DateTimeField(source="created_at")


# Built from a Transfer as market.selectors.ledger.ledger_entries annotates it for the caller.
class LedgerEntrySerializer(serializers.Serializer):
    entryId = serializers.CharField(source="transfer_id")
    leaseId = serializers.CharField(source="lease_ref", allow_null=True, help_text="The lease, for usage entries.")
    source = serializers.CharField(
        source="usage.source", allow_null=True, help_text="proxy | provider for usage entries."
    )
    units = serializers.IntegerField(
        source="usage.units",
        allow_null=True,
        help_text="For usage entries: the units billed, those `amount` pays for (= billedUnits).",
    )
    reportedUnits = serializers.IntegerField(
        source="usage.reported_units",
        allow_null=True,
        help_text="For usage entries: the units reported (by the provider, or measured by the "
        "proxy); more than billedUnits when the report exceeded the call's reservation or the lease's budget. "
        "null when none was reported (the reservation was billed) and for other entries.",
    )
    billedUnits = serializers.IntegerField(
        source="usage.units", allow_null=True, help_text="For usage entries: the units paid for."
    )
    amount = AmountOut(help_text="Decimal string.")
    currency = serializers.CharField()
    usageRef = serializers.CharField(source="usage.usage_ref", allow_null=True)
    code = serializers.CharField(help_text=f"{', '.join(Transfer.Code.values)}.")
    direction = serializers.ChoiceField(choices=["in", "out"], help_text="For the caller's account.")
    pending = serializers.BooleanField(
        source="holds_funds",
        help_text="True for an escrow lock whose settlement still holds some of it "
        "(reserved, not yet posted or voided).",
    )
    lockState = serializers.ChoiceField(
        source="lock_state",
        choices=LOCK_STATES,
        allow_null=True,
        help_text="For an escrow lock, how it stands: pending (nothing posted yet, still locked), posted (all of "
        "it went to the payee), partially_posted (part went to the payee; the rest is still locked while "
        "`pending`, else it was voided back), voided (all of it went back to the payer). null for other entries.",
    )
    settlementId = serializers.CharField(source="settlement.settlement_id", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")


class LedgerListResult(serializers.Serializer):
    items = LedgerEntrySerializer(many=True)
    nextCursor = serializers.CharField(allow_null=True)


# Built from market.selectors.ledger.CurrencyFigures.
class BalanceSerializer(serializers.Serializer):
    available = AmountOut(help_text="Spendable now.")
    locked = AmountOut(help_text="Reserved in open escrow locks.")


# Built from market.selectors.ledger.CurrencyFigures.
class CurrencySummarySerializer(serializers.Serializer):
    income = AmountOut(help_text="Released or transferred to the caller.")
    expense = AmountOut(help_text="Released or transferred from the caller (locks are not).")
    net = AmountOut(help_text="income - expense.")
    available = AmountOut()
    locked = AmountOut(help_text="Reserved in open escrow locks.")


class LedgerSummaryResult(KeyedResult):
    """{<currency>: {income, expense, net, available, locked}}."""

    child = CurrencySummarySerializer


class BillingStatusResult(KeyedResult):
    child = BalanceSerializer
    openSettlements = serializers.IntegerField(help_text="Open settlements the caller is a party to.")


class BillingSummaryResult(KeyedResult):
    child = CurrencySummarySerializer
    openSettlements = serializers.IntegerField()
    recentSettlements = SettlementSerializer(many=True, help_text="The ten newest, either side.")


# Built from market.selectors.ledger.AccountMove.
class AccountMoveResult(serializers.Serializer):
    transferId = serializers.CharField(source="transfer.transfer_id")
    actorId = serializers.CharField(source="actor_id")
    amount = AmountOut(source="transfer.amount", currency="transfer.currency")
    currency = serializers.CharField(source="transfer.currency")
    code = serializers.ChoiceField(
        source="transfer.code", choices=[Transfer.Code.DEPOSIT.value, Transfer.Code.WITHDRAWAL.value]
    )
    available = AmountOut(currency="transfer.currency", help_text="The actor's available balance afterwards.")
    createdAt = serializers.DateTimeField(source="transfer.created_at")
