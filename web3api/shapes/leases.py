"""Lease, the usage entries charged to it, and an invocation's answer."""

from __future__ import annotations

from rest_framework import serializers

from market.hashing import LEASE_HASH_FIELDS
from market.models import Lease, UsageEntry
from web3api.money import AmountOut
from web3api.shapes.resources import PricingOut


# Built from a Lease with its resource and settlement loaded (select_related).
class LeaseSerializer(serializers.Serializer):
    leaseId = serializers.CharField(source="lease_id")
    resourceId = serializers.CharField(source="resource.resource_id")
    consumerActorId = serializers.CharField(source="consumer_actor_id")
    providerActorId = serializers.CharField(source="provider_actor_id")
    status = serializers.ChoiceField(choices=Lease.Status.values)
    pricing = PricingOut(source="*", help_text="Fixed when the lease was issued.")
    maxCost = AmountOut(source="max_cost")
    spent = AmountOut()
    remaining = AmountOut(help_text="maxCost - spent.")
    ttlSec = serializers.IntegerField(source="ttl_sec")
    expiresAt = serializers.DateTimeField(source="expires_at")
    settlementId = serializers.CharField(
        source="settlement.settlement_id", allow_null=True, help_text="Null for a lease inside a session."
    )
    sessionId = serializers.CharField(
        source="session.session_id", allow_null=True, help_text="The session it was issued in (its budget's lock)."
    )
    hash = serializers.CharField(
        help_text=f"sha256 of the RFC 8785 JSON of hashFields ({', '.join(LEASE_HASH_FIELDS)}), maxCost as the "
        "client sent it."
    )
    createdAt = serializers.DateTimeField(source="created_at")
    endedAt = serializers.DateTimeField(source="ended_at", allow_null=True)


class LeaseListResult(serializers.Serializer):
    items = LeaseSerializer(many=True)
    nextCursor = serializers.CharField(allow_null=True)


# Built from a UsageEntry with its lease loaded (web3.ledger.append).
class UsageEntrySerializer(serializers.Serializer):
    entryId = serializers.CharField(source="entry_id")
    leaseId = serializers.CharField(source="lease.lease_id")
    source = serializers.ChoiceField(choices=UsageEntry.Source.values)
    units = serializers.IntegerField(help_text="Units billed (= billedUnits).")
    reportedUnits = serializers.IntegerField(
        source="reported_units", allow_null=True, help_text="The units the provider reported."
    )
    billedUnits = serializers.IntegerField(
        source="units",
        help_text="reportedUnits, or fewer when the remaining budget pays for fewer: the units `amount` pays for.",
    )
    amount = AmountOut(
        currency="lease.currency", help_text="units x the lease's price, rounded up, at most what remained."
    )
    currency = serializers.CharField(source="lease.currency")
    usageRef = serializers.CharField(source="usage_ref")
    leaseStatus = serializers.ChoiceField(
        source="lease.status", choices=Lease.Status.values, help_text="lease_exhausted once the budget is spent."
    )
    createdAt = serializers.DateTimeField(source="created_at")


# Built from market.services.invoke.InvokeResult.
class UsageSerializer(serializers.Serializer):
    units = serializers.IntegerField(help_text="Units billed, in the lease's pricing unit (= billedUnits).")
    cost = AmountOut(
        currency="lease.currency", help_text="Charged to the lease: exactly the billed units' price (decimal string)."
    )
    reportedUnits = serializers.IntegerField(
        source="reported_units",
        allow_null=True,
        help_text="Units the provider reported (tokens) or the proxy measured (bytes; 1 call or "
        "query); null when the provider reported none and the reservation was billed.",
    )
    billedUnits = serializers.IntegerField(
        source="units",
        help_text="reportedUnits, at most the units reserved for the call (and what the budget still pays for).",
    )


# Built from market.services.invoke.InvokeResult.
class InvokeResult(serializers.Serializer):
    output = serializers.JSONField(help_text="The provider's JSON answer (size-capped).")
    usage = UsageSerializer(source="*")
    lease = LeaseSerializer()
