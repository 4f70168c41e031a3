"""Resource and its pricing, as every output shows them (publish, update, get, list; a lease's
pricing; an index entry's)."""

from __future__ import annotations

from rest_framework import serializers

from market.hashing import RESOURCE_HASH_FIELDS
from market.models import Resource
from web3api.money import AmountOut

PER_CHOICES = [1, 1_000_000]


# Built from anything priced: a Resource, or a Lease (the pricing it fixed at issue).
class PricingOut(serializers.Serializer):
    unit = serializers.ChoiceField(choices=Resource.Unit.values)
    unitPrice = AmountOut(source="unit_price", help_text="Decimal string: the price of `per` units.")
    currency = serializers.CharField()
    per = serializers.ChoiceField(
        source="per_units",
        choices=PER_CHOICES,
        help_text="How many units unitPrice is for: 1 for call and query, 1000000 for token "
        "and byte. cost = units x unitPrice / per, rounded up to the currency's scale. Derived from the unit: it "
        "is not part of the resource's hash.",
    )


class ResourceSerializer(serializers.Serializer):
    resourceId = serializers.CharField(source="resource_id")
    providerActorId = serializers.CharField(source="provider_actor_id")
    kind = serializers.ChoiceField(choices=Resource.Kind.values)
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    backend = serializers.ChoiceField(choices=Resource.Backend.values)
    pricing = PricingOut(source="*")
    policy = serializers.DictField(help_text="{maxConcurrent, maxTokens, allowTools, maxBytes, allowMime}.")
    tags = serializers.ListField(child=serializers.CharField())
    status = serializers.ChoiceField(choices=Resource.Status.values)
    hash = serializers.CharField(
        help_text=f"sha256 of the RFC 8785 JSON of hashFields ({', '.join(RESOURCE_HASH_FIELDS)}; never the "
        "endpoint); its pricing is {unit, unitPrice, currency} as supplied, without the derived per."
    )
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


class ResourceListResult(serializers.Serializer):
    items = ResourceSerializer(many=True)
    nextCursor = serializers.CharField(allow_null=True)
