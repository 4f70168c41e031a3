"""web3.billing.status and web3.billing.summary."""

from rest_framework import serializers

from market.money import format_amount
from market.selectors import ledger as ledger_selectors
from web3api.methods.ledger import CurrencySummarySerializer, SettlementSerializer, money_summary, settlement_out
from web3api.registry import EmptyParams, method
from web3api.serializers import KeyedResult


class BalanceSerializer(serializers.Serializer):
    available = serializers.CharField(help_text="Spendable now.")
    locked = serializers.CharField(help_text="Reserved in open escrow locks.")


class BillingStatusResult(KeyedResult):
    child = BalanceSerializer
    openSettlements = serializers.IntegerField(help_text="Open settlements the caller is a party to.")


@method(
    name="web3.billing.status",
    summary="Available and locked balance per currency, open settlements.",
    group="billing",
    read_only=True,
    params=EmptyParams,
    result=BillingStatusResult,
)
def billing_status(call, params):
    out = {
        c: {"available": format_amount(b["available"], c), "locked": format_amount(b["locked"], c)}
        for c, b in ledger_selectors.balances(call.actor_id).items()
    }
    out["openSettlements"] = ledger_selectors.open_settlements(call.actor_id).count()
    return out


class BillingSummaryResult(KeyedResult):
    child = CurrencySummarySerializer
    openSettlements = serializers.IntegerField()
    recentSettlements = SettlementSerializer(many=True, help_text="The ten newest, either side.")


@method(
    name="web3.billing.summary",
    summary="Billing status plus income, expense, net and recent settlements.",
    group="billing",
    read_only=True,
    params=EmptyParams,
    result=BillingSummaryResult,
)
def billing_summary(call, params):
    out = money_summary(call.actor_id)
    out["openSettlements"] = ledger_selectors.open_settlements(call.actor_id).count()
    out["recentSettlements"] = [settlement_out(s) for s in ledger_selectors.recent_settlements(call.actor_id)]
    return out
