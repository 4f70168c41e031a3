"""web3.ledger.list, web3.ledger.summary, web3.settlement.status."""

from rest_framework import serializers

from market.selectors import ledger as ledger_selectors
from web3api.money import currency_field
from web3api.pagination import paginate
from web3api.registry import EmptyParams, method
from web3api.serializers import Params, StrictDateTimeField, cursor_field, id_field, limit_field
from web3api.shapes.ledger import LedgerListResult, LedgerSummaryResult, SettlementSerializer


class SettlementStatusParams(Params):
    settlementId = id_field("settlement")


@method(
    name="web3.settlement.status",
    summary="One settlement: locked, released, refunded, remaining.",
    group="settlement",
    read_only=True,
    params=SettlementStatusParams,
    result=SettlementSerializer,
    permissions=["payer, payee or staff; anyone else gets E_NOT_FOUND"],
    errors=["E_NOT_FOUND"],
)
def settlement_status(call, params):
    return ledger_selectors.settlement_get(
        settlement_id=params["settlementId"], actor_id=call.actor_id, is_staff=call.is_staff
    )


class LedgerListParams(Params):
    leaseId = serializers.CharField(required=False, max_length=40, help_text="Only entries of this lease.")
    currency = currency_field(required=False)
    since = StrictDateTimeField(required=False, help_text="ISO-8601; entries at or after it.")
    until = StrictDateTimeField(required=False, help_text="ISO-8601; entries before it.")
    limit = limit_field()
    cursor = cursor_field()


@method(
    name="web3.ledger.list",
    summary="The caller's ledger entries, newest first.",
    group="ledger",
    read_only=True,
    params=LedgerListParams,
    result=LedgerListResult,
    permissions=["an actor sees only entries of its own accounts"],
)
def ledger_list(call, params):
    filters = {"currency": params.get("currency"), "since": params.get("since"), "until": params.get("until")}
    if params.get("leaseId"):
        filters["reference"] = f"{ledger_selectors.LEASE_REFERENCE}{params['leaseId']}"
    return paginate(ledger_selectors.ledger_entries(actor_id=call.actor_id, filters=filters), params)


@method(
    name="web3.ledger.summary",
    summary="Per currency: income, expense, net, available and locked.",
    group="ledger",
    read_only=True,
    params=EmptyParams,
    result=LedgerSummaryResult,
    description="Result: an object keyed by currency code, each {income, expense, net, available, locked} "
    "as decimal strings.",
)
def ledger_summary(call, params):
    return ledger_selectors.money_figures(call.actor_id)
