"""The resource index: a signed report's receipt, index entries, a resource's health and a
provider's reputation."""

from __future__ import annotations

from rest_framework import serializers

from market.health import HEALTH_STATES
from web3api.money import AmountsByCurrencyOut
from web3api.shapes.resources import PricingOut


# Built from an IndexReport.
class ReportResult(serializers.Serializer):
    reportId = serializers.CharField(source="report_id")
    resourceId = serializers.CharField(source="resource.resource_id")
    entryHash = serializers.CharField(source="entry_hash", help_text="The string that was signed.")
    reportedAt = serializers.DateTimeField(source="reported_at")
    createdAt = serializers.DateTimeField(source="created_at")


# Built from market.selectors.index.Reputation.
class ReputationSerializer(serializers.Serializer):
    actorId = serializers.CharField(source="actor_id")
    score = serializers.IntegerField(help_text="0-100: invoke success rate x settled / (settled + 2).")
    settledLeases = serializers.IntegerField(source="settled_leases")
    usageVolume = AmountsByCurrencyOut(source="usage_volume", help_text="Per currency, usage charged.")
    invocations = serializers.IntegerField()
    failures = serializers.IntegerField()
    failureRate = serializers.FloatField(source="failure_rate")


# Built from market.selectors.index.IndexEntry.
class IndexEntrySerializer(serializers.Serializer):
    resourceId = serializers.CharField(source="resource.resource_id")
    providerActorId = serializers.CharField(source="resource.provider_actor_id")
    kind = serializers.CharField(source="resource.kind")
    name = serializers.CharField(source="resource.name")
    backend = serializers.CharField(source="resource.backend")
    pricing = PricingOut(source="resource")
    tags = serializers.ListField(source="resource.tags", child=serializers.CharField())
    lastReportedAt = serializers.DateTimeField(source="last_reported_at", allow_null=True)
    freshnessSec = serializers.IntegerField(
        source="freshness_sec", allow_null=True, help_text="Seconds since the newest signed report."
    )
    health = serializers.ChoiceField(choices=HEALTH_STATES)
    reputation = serializers.IntegerField(help_text="The provider's reputation score (0-100).")


class IndexListResult(serializers.Serializer):
    items = IndexEntrySerializer(many=True)
    nextCursor = serializers.CharField(allow_null=True)


# Built from market.selectors.index.ResourceHealth.
class HealthResult(serializers.Serializer):
    resourceId = serializers.CharField(source="resource_id")
    status = serializers.ChoiceField(
        choices=HEALTH_STATES,
        help_text="stale: no signed report within 1 h; degraded: over 20% of at least 3 recent calls "
        "failed by the provider's fault (unavailable, timeout); healthy otherwise. Recent calls are counted in "
        "half-hour buckets kept with each call: the current bucket and the one before it (30 to 60 minutes).",
    )
    lastReportedAt = serializers.DateTimeField(source="last_reported_at", allow_null=True)
    freshnessSec = serializers.IntegerField(source="freshness_sec", allow_null=True)
    recentInvocations = serializers.IntegerField(source="recent_invocations")
    recentFailures = serializers.IntegerField(source="recent_failures")
