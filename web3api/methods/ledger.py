"""web3.ledger.list, web3.ledger.summary, web3.settlement.status."""

from rest_framework import serializers

from market.money import format_amount
from market.selectors import ledger as ledger_selectors
from web3api.money import currency_field
from web3api.pagination import paginate
from web3api.registry import EmptyParams, method
from web3api.serializers import KeyedResult, Params, StrictDateTimeField, cursor_field, id_field, limit_field


class SettlementSerializer(serializers.Serializer):
    settlementId = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["settlement_locked", "settlement_partially_released", "settlement_released", "settlement_refunded"]
    )
    currency = serializers.CharField()
    payerActorId = serializers.CharField()
    payeeActorId = serializers.CharField()
    locked = serializers.CharField(help_text="Decimal string.")
    released = serializers.CharField(help_text="Decimal string.")
    refunded = serializers.CharField(help_text="Decimal string.")
    remaining = serializers.CharField(help_text="locked - released - refunded.")
    reference = serializers.CharField(help_text="The object the settlement belongs to, e.g. lease:lease_...")
    createdAt = serializers.DateTimeField()


def settlement_out(s) -> dict:
    c = s.currency
    return {
        "settlementId": s.settlement_id,
        "status": s.status,
        "currency": c,
        "payerActorId": s.payer_actor_id,
        "payeeActorId": s.payee_actor_id,
        "locked": format_amount(s.locked, c),
        "released": format_amount(s.released, c),
        "refunded": format_amount(s.refunded, c),
        "remaining": format_amount(s.remaining, c),
        "reference": s.reference,
        "createdAt": s.created_at,
    }


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
    return settlement_out(
        ledger_selectors.settlement_get(
            settlement_id=params["settlementId"], actor_id=call.actor_id, is_staff=call.is_staff
        )
    )


class LedgerEntrySerializer(serializers.Serializer):
    entryId = serializers.CharField()
    leaseId = serializers.CharField(allow_null=True, help_text="The lease, for usage entries.")
    source = serializers.CharField(allow_null=True, help_text="proxy | provider for usage entries.")
    units = serializers.IntegerField(
        allow_null=True, help_text="For usage entries: the units billed, those `amount` pays for (= billedUnits)."
    )
    reportedUnits = serializers.IntegerField(
        allow_null=True,
        help_text="For usage entries: the units reported (by the provider, or measured by the "
        "proxy); more than billedUnits when the report exceeded the call's reservation or the lease's budget. "
        "null when none was reported (the reservation was billed) and for other entries.",
    )
    billedUnits = serializers.IntegerField(allow_null=True, help_text="For usage entries: the units paid for.")
    amount = serializers.CharField(help_text="Decimal string.")
    currency = serializers.CharField()
    usageRef = serializers.CharField(allow_null=True)
    code = serializers.CharField(help_text="deposit, withdrawal, transfer, escrow_lock, escrow_release, ...")
    direction = serializers.ChoiceField(choices=["in", "out"], help_text="For the caller's account.")
    pending = serializers.BooleanField(
        help_text="True for an escrow lock whose settlement still holds some of it "
        "(reserved, not yet posted or voided)."
    )
    lockState = serializers.ChoiceField(
        choices=["pending", "posted", "partially_posted", "voided"],
        allow_null=True,
        help_text="For an escrow lock, how it stands: pending (nothing posted yet, still locked), posted (all of "
        "it went to the payee), partially_posted (part went to the payee; the rest is still locked while "
        "`pending`, else it was voided back), voided (all of it went back to the payer). null for other entries.",
    )
    settlementId = serializers.CharField(allow_null=True)
    createdAt = serializers.DateTimeField()


def ledger_entry_out(t, actor_id: str) -> dict:
    lease_id = t.reference.split(":", 1)[1] if t.reference.startswith("lease:") else None
    usage = getattr(t, "usage", None)
    return {
        "entryId": t.transfer_id,
        "leaseId": lease_id,
        "source": usage.source if usage else None,
        "units": usage.units if usage else None,
        "reportedUnits": usage.reported_units if usage else None,
        "billedUnits": usage.units if usage else None,
        "amount": format_amount(t.amount, t.currency),
        "currency": t.currency,
        "usageRef": usage.usage_ref if usage else None,
        "code": t.code,
        "direction": "in" if t.credit_account.actor_id == actor_id else "out",
        "pending": ledger_selectors.lock_holds_funds(t),
        "lockState": ledger_selectors.lock_state(t),
        "settlementId": t.settlement.settlement_id if t.settlement_id else None,
        "createdAt": t.created_at,
    }


class LedgerListParams(Params):
    leaseId = serializers.CharField(required=False, max_length=40, help_text="Only entries of this lease.")
    currency = currency_field(required=False)
    since = StrictDateTimeField(required=False, help_text="ISO-8601; entries at or after it.")
    until = StrictDateTimeField(required=False, help_text="ISO-8601; entries before it.")
    limit = limit_field()
    cursor = cursor_field()


class LedgerListResult(serializers.Serializer):
    items = LedgerEntrySerializer(many=True)
    nextCursor = serializers.CharField(allow_null=True)


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
        filters["reference"] = f"lease:{params['leaseId']}"
    qs = ledger_selectors.ledger_entries(actor_id=call.actor_id, filters=filters)
    return paginate(qs, params, lambda t: ledger_entry_out(t, call.actor_id))


class CurrencySummarySerializer(serializers.Serializer):
    income = serializers.CharField(help_text="Released or transferred to the caller.")
    expense = serializers.CharField(help_text="Released or transferred from the caller (locks are not).")
    net = serializers.CharField(help_text="income - expense.")
    available = serializers.CharField()
    locked = serializers.CharField(help_text="Reserved in open escrow locks.")


class LedgerSummaryResult(KeyedResult):
    """{<currency>: {income, expense, net, available, locked}}."""

    child = CurrencySummarySerializer


def money_summary(actor_id: str) -> dict:
    bal = ledger_selectors.balances(actor_id)
    flows = ledger_selectors.income_expense(actor_id)
    out = {}
    for c, b in bal.items():
        f = flows.get(c, {"income": 0, "expense": 0})
        out[c] = {
            "income": format_amount(f["income"], c),
            "expense": format_amount(f["expense"], c),
            "net": format_amount(f["income"] - f["expense"], c),
            "available": format_amount(b["available"], c),
            "locked": format_amount(b["locked"], c),
        }
    return out


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
    return money_summary(call.actor_id)
