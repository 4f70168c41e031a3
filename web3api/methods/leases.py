"""web3.leases.issue|get|list|revoke and web3.ledger.append (provider-metered usage)."""

from rest_framework import serializers

from market.hashing import LEASE_HASH_FIELDS
from market.models import Lease
from market.money import parse_amount
from market.selectors import resources as selectors
from market.services import leases as services
from web3api.money import money_field
from web3api.pagination import paginate
from web3api.registry import method
from web3api.serializers import Params, StrictCharField, cursor_field, id_field, limit_field
from web3api.shapes.leases import LeaseListResult, LeaseSerializer, UsageEntrySerializer


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
    unexpressible={"maxCost": "at most the scale of the resource's currency in decimals (the resource's state)"},
    description="An unpublished resource takes no new leases: E_CONFLICT. The lease keeps the resource's "
    "pricing and policy as they are now; maxCost is read in the resource's currency, and a resource whose "
    "pricing moves to another currency while the lease is issued is E_CONFLICT (read it and issue again). "
    "The lease's hash covers maxCost as sent.",
    examples=[{"params": {"resourceId": "res_...", "maxCost": "5.00", "ttlSec": 3600}}],
)
def issue(call, params):
    # maxCost is in the resource's currency: read it, then turn the amount into its minor units.
    # The gateway's transaction holds both reads: the service takes the row as read here.
    resource = selectors.resource_get(resource_id=params["resourceId"], actor_id=call.actor_id)
    return services.lease_issue(
        resource=resource,
        resource_id=resource.resource_id,
        consumer_actor_id=call.actor_id,
        max_cost=parse_amount(params["maxCost"], resource.currency, field="maxCost"),
        currency=resource.currency,
        max_cost_text=params["maxCost"],
        ttl_sec=params["ttlSec"],
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
    return selectors.lease_get(lease_id=params["leaseId"], actor_id=call.actor_id, is_staff=call.is_staff)


class LeaseListParams(Params):
    status = serializers.ChoiceField(choices=Lease.Status.values, required=False)
    resourceId = serializers.CharField(max_length=40, required=False)
    role = serializers.ChoiceField(
        choices=["consumer", "provider"], required=False, help_text="Only leases where the caller has this role."
    )
    limit = limit_field()
    cursor = cursor_field()


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
    return paginate(qs, params)


@method(
    name="web3.leases.revoke",
    ends_object=True,
    idempotent=True,
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
    return services.lease_revoke(lease_id=params["leaseId"], actor_id=call.actor_id, is_staff=call.is_staff)


class AppendParams(Params):
    leaseId = id_field("lease", help_text="Id of the lease (lease_...).")
    units = serializers.IntegerField(min_value=1, max_value=10**15, help_text="Usage in the lease's pricing unit.")
    usageRef = StrictCharField(
        max_length=120, help_text="The provider's own reference; the same one again returns the first entry."
    )


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
    return services.usage_append(
        lease_id=params["leaseId"],
        actor_id=call.actor_id,
        units=params["units"],
        usage_ref=params["usageRef"],
        is_staff=call.is_staff,
    )
