"""Disputes on the wire: a Dispute (as market.selectors.disputes.dispute_shown gives it) with its
evidence, its ruling and the ruling's seal, and its appeal."""

from __future__ import annotations

from rest_framework import serializers

from market.hashing import DISPUTE_HASH_FIELDS
from market.models import Dispute
from web3api.shapes.audit import SealOut
from web3api.shapes.fields import IsSet


class EvidenceOut(serializers.Serializer):
    evidenceId = serializers.CharField(source="evidence_id")
    submitterActorId = serializers.CharField(
        source="submitter_actor_id", help_text="A party, or `system` for the bundle attached on opening."
    )
    kind = serializers.CharField()
    content = serializers.CharField(allow_blank=True)
    uri = serializers.CharField(allow_blank=True)
    cid = serializers.CharField(allow_blank=True, help_text="An archive object holding the evidence, or empty.")
    sha256 = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")


# The dispute's own ruling fields, as an object that is null until it is ruled.
class RulingOut(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Dispute.Decision.values)
    payeeShareBps = serializers.IntegerField(source="payee_share_bps", allow_null=True)
    rationale = serializers.CharField(allow_blank=True)
    arbitratorActorId = serializers.CharField(source="arbitrator_actor_id")
    ruledAt = serializers.DateTimeField(source="ruled_at")
    final = serializers.BooleanField(source="is_final", help_text="True for the ruling on an appeal.")
    eventSeq = serializers.IntegerField(
        source="ruling_event_seq", allow_null=True, help_text="Seq of the ruling's audit event."
    )
    seal = SealOut(help_text="Where the ruling's audit event stands: its checkpoint, and that checkpoint's anchor.")

    def get_attribute(self, instance: Dispute):
        return instance if instance.ruled_at is not None else None


# Who appealed and why, as an object that is null until the dispute is appealed.
class AppealOut(serializers.Serializer):
    byActorId = serializers.CharField(source="appealed_by")
    reason = serializers.CharField(source="appeal_reason")

    def get_attribute(self, instance: Dispute):
        return instance if instance.appealed_by else None


class DisputeOut(serializers.Serializer):
    disputeId = serializers.CharField(source="dispute_id")
    taskId = serializers.CharField(source="task.task_id")
    receiptId = serializers.CharField(source="receipt.receipt_id")
    initiatorActorId = serializers.CharField(source="initiator_actor_id")
    creatorActorId = serializers.CharField(source="creator_actor_id")
    delivererActorId = serializers.CharField(source="deliverer_actor_id")
    arbitratorType = serializers.ChoiceField(source="arbitrator_type", choices=["offchain", "onchain"])
    status = serializers.ChoiceField(choices=Dispute.Status.values)
    reason = serializers.CharField()
    round = serializers.IntegerField(help_text="1, or 2 after an appeal.")
    ruling = RulingOut(allow_null=True)
    appealDeadline = serializers.DateTimeField(source="appeal_deadline", allow_null=True)
    appeal = AppealOut(allow_null=True, help_text="{byActorId, reason} once appealed.")
    history = serializers.JSONField(help_text="Earlier rulings, oldest first.")
    paidOut = IsSet(source="paid_out_at", help_text="True once the outcome moved the money.")
    evidence = EvidenceOut(many=True, source="evidence_in_order")
    hash = serializers.CharField(help_text="sha256 over " + ", ".join(DISPUTE_HASH_FIELDS))
    createdAt = serializers.DateTimeField(source="created_at")
