"""Session and its per-provider lines; the guard's answer; a session's settlement."""

from __future__ import annotations

from rest_framework import serializers

from market.models import Session
from web3api.money import AmountOut
from web3api.shapes.brain import BrainChoiceSerializer
from web3api.shapes.ledger import BillingStatusResult, SettlementSerializer


# Built from market.selectors.sessions.session_lines.
class SessionLineSerializer(serializers.Serializer):
    providerActorId = serializers.CharField(source="provider_actor_id")
    units = serializers.IntegerField(help_text="Units billed by this provider in the session.")
    accrued = AmountOut(help_text="What the session owes the provider (debit notes).")
    released = AmountOut(help_text="What of it was paid out so far (batches, and at settlement).")


class SessionSerializer(serializers.Serializer):
    sessionId = serializers.CharField(source="session_id")
    ownerActorId = serializers.CharField(source="owner_actor_id")
    agentTokenId = serializers.CharField(source="agent_token_id", allow_null=True, help_text="Null: the owner.")
    label = serializers.CharField()
    mode = serializers.ChoiceField(choices=Session.Mode.values)
    status = serializers.ChoiceField(choices=Session.Status.values)
    currency = serializers.CharField()
    budget = AmountOut(help_text="Prepaid: locked once at open. Trusted: the cap, nothing locked.")
    accrued = AmountOut(help_text="Used so far (exact at any time), released or not.")
    released = AmountOut(help_text="Paid to providers so far.")
    remaining = AmountOut(help_text="budget - accrued.")
    settlementId = serializers.CharField(
        source="settlement.settlement_id", allow_null=True, help_text="The prepaid lock; null for trusted sessions."
    )
    lines = SessionLineSerializer(many=True, source="line_rows")
    ttlSec = serializers.IntegerField(source="ttl_sec")
    expiresAt = serializers.DateTimeField(source="expires_at")
    approvalExpiresAt = serializers.DateTimeField(source="approval_expires_at", allow_null=True)
    settledAt = serializers.DateTimeField(source="settled_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")

    def to_representation(self, instance):
        from market.selectors.sessions import session_lines

        instance.line_rows = session_lines(instance)
        if not instance.agent_token_id:
            instance.agent_token_id = None
        return super().to_representation(instance)


class SessionListResult(serializers.Serializer):
    items = SessionSerializer(many=True)
    nextCursor = serializers.CharField(allow_null=True)


class SettleResult(serializers.Serializer):
    session = SessionSerializer(help_text="Settled, with its per-provider lines.")
    settlement = SettlementSerializer(
        allow_null=True, help_text="The prepaid lock as it closed; null for trusted sessions."
    )


class GuardResult(serializers.Serializer):
    allow = serializers.BooleanField()
    reason = serializers.ChoiceField(
        choices=[
            "ok",
            "no_session",
            "session_expired",
            "insufficient_budget",
            "session_cap",
            "daily_cap",
            "counterparty_cap",
            "provider_not_allowed",
            "approval_required",
            "rate_limited",
            "market_unavailable",
        ]
    )
    remaining = serializers.CharField(
        allow_null=True, help_text="What the session (and the tightest cap) still allows, a decimal string."
    )
    retryAfterSec = serializers.IntegerField(required=False, help_text="For rate_limited and market_unavailable.")

    def to_representation(self, instance):
        # The guard's answer is made of JSON values already (web3api.methods.guard): shaping it field
        # by field again would cost more than the check itself, which runs before every tool call.
        return {name: instance[name] for name in GUARD_FIELDS if name in instance}


GUARD_FIELDS = ("allow", "reason", "remaining", "retryAfterSec")


class PartOut(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "degraded", "down"])
    message = serializers.CharField()


class WalletStatusResult(BillingStatusResult):
    """web3.billing.status: balances by currency (available; locked = reserved), the open session and
    the health of the parts the answer was read from."""

    openSession = SessionSerializer(allow_null=True, help_text="The caller's newest open session, if any.")
    brain = BrainChoiceSerializer(
        allow_null=True, help_text="The open session's current brain (web3.brain.resolve); null: none resolved."
    )
    parts = serializers.DictField(
        child=PartOut(),
        help_text="ledger, sessions, brain, invoke: ok, or degraded with a message instead of an error.",
    )
