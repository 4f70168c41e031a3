"""web3.leases.issue|get|list|revoke and web3.ledger.append (provider-metered usage)."""

from rest_framework import serializers

from market.hashing import LEASE_HASH_FIELDS
from market.models.resources import PER_MILLION_UNITS
from market.money import format_amount
from market.selectors import resources as selectors
from market.services import leases as services
from market.services.resources import pricing_out
from web3api.money import money_field
from web3api.pagination import paginate
from web3api.registry import method
from web3api.serializers import Params, StrictCharField, cursor_field, id_field, limit_field

LEASE_STATUSES = ["lease_active", "lease_expired", "lease_revoked", "lease_exhausted"]
PER_CHOICES = [1, 1_000_000]


class PricingOut(serializers.Serializer):
    unit = serializers.ChoiceField(choices=["token", "call", "query", "byte"])
    unitPrice = serializers.CharField(help_text="Decimal string: the price of `per` units.")
    currency = serializers.CharField()
    per = serializers.ChoiceField(
        choices=PER_CHOICES,
        help_text="How many units unitPrice is for: 1 for call and query, 1000000 for token "
        "and byte. cost = units x unitPrice / per, rounded up to the currency's scale. Derived from the unit: it "
        "is not part of the resource's hash.",
    )


def pricing_shape(unit: str, unit_price: int, currency: str) -> dict:
    return {**pricing_out(unit, unit_price, currency), "per": 1_000_000 if unit in PER_MILLION_UNITS else 1}


class LeaseSerializer(serializers.Serializer):
    leaseId = serializers.CharField()
    resourceId = serializers.CharField()
    consumerActorId = serializers.CharField()
    providerActorId = serializers.CharField()
    status = serializers.ChoiceField(choices=LEASE_STATUSES)
    pricing = PricingOut(help_text="Fixed when the lease was issued.")
    maxCost = serializers.CharField()
    spent = serializers.CharField()
    remaining = serializers.CharField(help_text="maxCost - spent.")
    ttlSec = serializers.IntegerField()
    expiresAt = serializers.DateTimeField()
    settlementId = serializers.CharField()
    hash = serializers.CharField()
    createdAt = serializers.DateTimeField()
    endedAt = serializers.DateTimeField(allow_null=True)


def lease_out(lease) -> dict:
    c = lease.currency
    return {
        "leaseId": lease.lease_id,
        "resourceId": lease.resource.resource_id,
        "consumerActorId": lease.consumer_actor_id,
        "providerActorId": lease.provider_actor_id,
        "status": lease.status,
        "pricing": pricing_shape(lease.unit, lease.unit_price, c),
        "maxCost": format_amount(lease.max_cost, c),
        "spent": format_amount(lease.spent, c),
        "remaining": format_amount(lease.remaining, c),
        "ttlSec": lease.ttl_sec,
        "expiresAt": lease.expires_at,
        "settlementId": lease.settlement.settlement_id,
        "hash": lease.hash,
        "createdAt": lease.created_at,
        "endedAt": lease.ended_at,
    }


class IssueParams(Params):
    resourceId = id_field("resource", help_text="Id of the resource (res_...).")
    maxCost = money_field(
        "Budget locked from the caller into the lease's settlement, in the resource's currency "
        "(with at most its scale of decimals)."
    )
    ttlSec = serializers.IntegerField(min_value=1, max_value=services.MAX_TTL_SEC, help_text="Lease lifetime.")


@method(
    name="web3.leases.issue",
    summary="Lease a published resource: locks maxCost from the caller.",
    moves_money=True,
    group="leases",
    params=IssueParams,
    result=LeaseSerializer,
    hash_fields=LEASE_HASH_FIELDS,
    risk="medium",
    permissions=["any actor but the resource's provider"],
    pricing={
        "model": "escrow",
        "detail": "maxCost is locked; usage is released to the provider as it is used "
        "and the rest is refunded when the lease ends",
    },
    errors=["E_NOT_FOUND", "E_CONFLICT", "E_INSUFFICIENT_FUNDS"],
    description="An unpublished resource takes no new leases: E_CONFLICT. The lease keeps the resource's "
    "pricing and policy as they are now.",
    examples=[{"params": {"resourceId": "res_...", "maxCost": "5.00", "ttlSec": 3600}}],
)
def issue(call, params):
    return lease_out(
        services.lease_issue(
            resource_id=params["resourceId"],
            consumer_actor_id=call.actor_id,
            max_cost=params["maxCost"],
            ttl_sec=params["ttlSec"],
        )
    )


class LeaseIdParams(Params):
    leaseId = id_field("lease", help_text="Id of the lease (lease_...).")


@method(
    name="web3.leases.get",
    summary="One lease.",
    group="leases",
    read_only=True,
    params=LeaseIdParams,
    result=LeaseSerializer,
    hash_fields=LEASE_HASH_FIELDS,
    errors=["E_NOT_FOUND"],
    permissions=["its consumer, its provider and staff; anyone else gets E_NOT_FOUND"],
)
def get(call, params):
    return lease_out(selectors.lease_get(lease_id=params["leaseId"], actor_id=call.actor_id, is_staff=call.is_staff))


class LeaseListParams(Params):
    status = serializers.ChoiceField(choices=LEASE_STATUSES, required=False)
    resourceId = serializers.CharField(max_length=40, required=False)
    role = serializers.ChoiceField(
        choices=["consumer", "provider"], required=False, help_text="Only leases where the caller has this role."
    )
    limit = limit_field()
    cursor = cursor_field()


class LeaseListResult(serializers.Serializer):
    items = LeaseSerializer(many=True)
    nextCursor = serializers.CharField(allow_null=True)


@method(
    name="web3.leases.list",
    summary="The caller's leases (as consumer or provider), newest first.",
    group="leases",
    read_only=True,
    params=LeaseListParams,
    result=LeaseListResult,
)
def list_(call, params):
    qs = selectors.lease_list(
        actor_id=call.actor_id, filters={k: params.get(k) for k in ("status", "resourceId", "role")}
    )
    return paginate(qs, params, lease_out)


@method(
    name="web3.leases.revoke",
    summary="End a lease now; the unspent budget goes back to the consumer.",
    moves_money=True,
    group="leases",
    params=LeaseIdParams,
    result=LeaseSerializer,
    hash_fields=LEASE_HASH_FIELDS,
    permissions=["its consumer or provider"],
    errors=["E_NOT_FOUND", "E_EXPIRED", "E_REVOKED"],
)
def revoke(call, params):
    return lease_out(services.lease_revoke(lease_id=params["leaseId"], actor_id=call.actor_id, is_staff=call.is_staff))


class AppendParams(Params):
    leaseId = id_field("lease", help_text="Id of the lease (lease_...).")
    units = serializers.IntegerField(min_value=1, max_value=10**15, help_text="Usage in the lease's pricing unit.")
    usageRef = StrictCharField(
        max_length=120, help_text="The provider's own reference; the same one again returns the first entry."
    )


class UsageEntrySerializer(serializers.Serializer):
    entryId = serializers.CharField()
    leaseId = serializers.CharField()
    source = serializers.ChoiceField(choices=["proxy", "provider"])
    units = serializers.IntegerField(help_text="Units billed (= billedUnits).")
    reportedUnits = serializers.IntegerField(allow_null=True, help_text="The units the provider reported.")
    billedUnits = serializers.IntegerField(
        help_text="reportedUnits, or fewer when the remaining budget pays for fewer: the units `amount` pays for."
    )
    amount = serializers.CharField(help_text="units x the lease's price, rounded up, at most what remained.")
    currency = serializers.CharField()
    usageRef = serializers.CharField()
    leaseStatus = serializers.ChoiceField(choices=LEASE_STATUSES, help_text="lease_exhausted once the budget is spent.")
    createdAt = serializers.DateTimeField()


@method(
    name="web3.ledger.append",
    summary="The provider of a lease records usage the proxy cannot see.",
    moves_money=True,
    group="ledger",
    params=AppendParams,
    result=UsageEntrySerializer,
    risk="medium",
    permissions=["the lease's provider only (its consumer: E_FORBIDDEN; others: E_NOT_FOUND)"],
    errors=["E_NOT_FOUND", "E_CONFLICT", "E_EXPIRED", "E_REVOKED"],
    description="The amount comes from the lease's price, never from the caller. The same usageRef again returns "
    "the first entry (other units: E_CONFLICT). Usage beyond the remaining budget charges what remains and "
    "exhausts the lease; the entry then bills the units that amount pays for (billedUnits) beside the "
    "reportedUnits.",
)
def append(call, params):
    entry, lease = services.usage_append(
        lease_id=params["leaseId"],
        actor_id=call.actor_id,
        units=params["units"],
        usage_ref=params["usageRef"],
        is_staff=call.is_staff,
    )
    return {
        "entryId": entry.entry_id,
        "leaseId": lease.lease_id,
        "source": entry.source,
        "units": entry.units,
        "reportedUnits": entry.reported_units,
        "billedUnits": entry.units,
        "amount": format_amount(entry.amount, lease.currency),
        "currency": lease.currency,
        "usageRef": entry.usage_ref,
        "leaseStatus": lease.status,
        "createdAt": entry.created_at,
    }
