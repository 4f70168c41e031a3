"""Brain resolution: the candidates, a session's choice, and a brain call's answer."""

from __future__ import annotations

from rest_framework import serializers

from market.services.brain import REASONS, SKIPPED
from web3api.money import AmountOut
from web3api.shapes.resources import PricingOut


# Built from market.selectors.brain.BrainCandidate.
class BrainCandidateSerializer(serializers.Serializer):
    resourceId = serializers.CharField(source="resource.resource_id")
    providerActorId = serializers.CharField(source="resource.provider_actor_id")
    model = serializers.CharField(source="resource.name", help_text="The model's name as its provider published it.")
    backend = serializers.CharField(source="resource.backend")
    pricing = PricingOut(source="resource")
    allowedBy = serializers.ChoiceField(
        source="allowed_by",
        choices=["market", "owner"],
        help_text="market: on WEB3_BRAIN_ALLOWLIST; owner: only on the spend policy's brainAllow.",
    )
    health = serializers.ChoiceField(
        choices=["healthy", "degraded", "stale", "failing"],
        help_text="The index's health, or failing while its newest call failed with a provider fault within "
        "WEB3_BRAIN_COOLDOWN_SEC.",
    )
    reputation = serializers.IntegerField(help_text="The provider's reputation score (0-100).")
    recentCalls = serializers.IntegerField(source="recent_calls", help_text="Calls in the last hour.")
    recentFailures = serializers.IntegerField(source="recent_failures", help_text="Provider faults among them.")
    latencyMs = serializers.IntegerField(
        source="latency_ms", allow_null=True, help_text="Median of its recent successful calls (null: none)."
    )
    callCost = AmountOut(
        source="call_cost",
        currency="resource.currency",
        help_text="What one brain call reserves for a short prompt ((maxTokens or 4096) + 256 tokens; one unit).",
    )
    affordable = serializers.BooleanField(
        allow_null=True, help_text="The session's guard lets one such call run now (null without sessionId)."
    )
    refusal = serializers.CharField(help_text="The guard's reason when not affordable ('' otherwise).")
    usable = serializers.BooleanField(help_text="healthy or stale, and affordable unless null.")
    score = serializers.IntegerField(help_text="0-100, as described; 0 when not usable.")


class BrainCandidatesResult(serializers.Serializer):
    items = BrainCandidateSerializer(many=True, help_text="Best first; usable ones before the rest.")


# Built from market.services.brain.Resolution.
class BrainChoiceSerializer(serializers.Serializer):
    sessionId = serializers.CharField(source="session_id")
    source = serializers.ChoiceField(choices=["web3", "centralized"])
    resourceId = serializers.CharField(source="resource_id", required=False, help_text="source web3 only.")
    providerActorId = serializers.CharField(source="provider_actor_id", required=False, help_text="web3 only.")
    leaseId = serializers.CharField(source="lease_id", required=False, help_text="web3 only: the session's lease.")
    model = serializers.CharField(required=False, help_text="web3 only: the model's name as published.")
    reason = serializers.ChoiceField(choices=REASONS, required=False, help_text="source centralized only.")
    preferredSkipped = serializers.ChoiceField(
        source="preferred_skipped",
        choices=SKIPPED,
        required=False,
        help_text="Only when `preferred` was given and passed over: why.",
    )
    failures = serializers.IntegerField(
        help_text="Provider faults of the session's brains so far (each re-resolved it)."
    )
    resolvedAt = serializers.DateTimeField(source="resolved_at", help_text="When the choice last changed.")

    WEB3_ONLY = ("resourceId", "providerActorId", "leaseId", "model")

    def to_representation(self, instance):
        out = super().to_representation(instance)
        drop = ("reason",) if out["source"] == "web3" else self.WEB3_ONLY
        if out.get("preferredSkipped") is None:
            drop = (*drop, "preferredSkipped")
        return {k: v for k, v in out.items() if k not in drop}


class BrainUsageSerializer(serializers.Serializer):
    units = serializers.IntegerField()
    cost = AmountOut(currency="currency")


class BrainInvokeResult(BrainChoiceSerializer):
    output = serializers.JSONField(required=False, help_text="web3 only: the brain's answer (the provider's JSON).")
    usage = BrainUsageSerializer(required=False, help_text="web3 only: billed units and their cost in the session.")

    WEB3_ONLY = (*BrainChoiceSerializer.WEB3_ONLY, "output", "usage")
