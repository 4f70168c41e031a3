"""web3.billing.status and web3.billing.summary."""

from market.selectors import ledger as ledger_selectors
from web3api.registry import EmptyParams, method
from web3api.shapes.ledger import BillingStatusResult, BillingSummaryResult


@method(
    name="web3.billing.status",
    summary="Available and locked balance per currency, open settlements.",
    group="billing",
    read_only=True,
    params=EmptyParams,
    result=BillingStatusResult,
)
def billing_status(call, params):
    return {
        **ledger_selectors.money_figures(call.actor_id, flows=False),
        "openSettlements": ledger_selectors.open_settlements(call.actor_id).count(),
    }


@method(
    name="web3.billing.summary",
    summary="Billing status plus income, expense, net and recent settlements.",
    group="billing",
    read_only=True,
    params=EmptyParams,
    result=BillingSummaryResult,
)
def billing_summary(call, params):
    return {
        **ledger_selectors.money_figures(call.actor_id),
        "openSettlements": ledger_selectors.open_settlements(call.actor_id).count(),
        "recentSettlements": ledger_selectors.recent_settlements(call.actor_id),
    }
