"""Output shapes of disputes (API.md's objects), shared by their methods."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from market.hashing import DISPUTE_HASH_FIELDS, object_hash
from market.models import Dispute
from market.selectors import disputes as dispute_selectors
from market.selectors.audit import seal_state


class EvidenceOut(serializers.Serializer):
    evidenceId = serializers.CharField()
    submitterActorId = serializers.CharField(help_text="A party, or `system` for the bundle attached on opening.")
    kind = serializers.CharField()
    content = serializers.CharField(allow_blank=True)
    uri = serializers.CharField(allow_blank=True)
    sha256 = serializers.CharField()
    createdAt = serializers.DateTimeField()


class AnchorOut(serializers.Serializer):
    txHash = serializers.CharField()
    chainId = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["signed", "sent", "anchored", "failed"])
    blockNumber = serializers.IntegerField(allow_null=True)


class SealOut(serializers.Serializer):
    sealed = serializers.BooleanField(
        help_text="True once a signed checkpoint covers the ruling's audit event (the payout waits for this)."
    )
    treeSize = serializers.IntegerField(allow_null=True, help_text="The covering checkpoint's tree size.")
    anchor = AnchorOut(
        allow_null=True, help_text="That checkpoint's chain transaction, if any: shown, never waited on."
    )


class RulingOut(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Dispute.Decision.values)
    payeeShareBps = serializers.IntegerField(allow_null=True)
    rationale = serializers.CharField(allow_blank=True)
    arbitratorActorId = serializers.CharField()
    ruledAt = serializers.DateTimeField()
    final = serializers.BooleanField(help_text="True for the ruling on an appeal.")
    eventSeq = serializers.IntegerField(allow_null=True, help_text="Seq of the ruling's audit event.")
    seal = SealOut(help_text="Where the ruling's audit event stands: its checkpoint, and that checkpoint's anchor.")


class DisputeOut(serializers.Serializer):
    disputeId = serializers.CharField()
    taskId = serializers.CharField()
    receiptId = serializers.CharField()
    initiatorActorId = serializers.CharField()
    creatorActorId = serializers.CharField()
    delivererActorId = serializers.CharField()
    arbitratorType = serializers.ChoiceField(choices=["offchain", "onchain"])
    status = serializers.ChoiceField(choices=Dispute.Status.values)
    reason = serializers.CharField()
    round = serializers.IntegerField(help_text="1, or 2 after an appeal.")
    ruling = RulingOut(allow_null=True)
    appealDeadline = serializers.DateTimeField(allow_null=True)
    appeal = serializers.JSONField(allow_null=True, help_text="{byActorId, reason} once appealed.")
    history = serializers.JSONField(help_text="Earlier rulings, oldest first.")
    paidOut = serializers.BooleanField(help_text="True once the outcome moved the money.")
    evidence = EvidenceOut(many=True)
    hash = serializers.CharField(help_text="sha256 over " + ", ".join(DISPUTE_HASH_FIELDS))
    createdAt = serializers.DateTimeField()


def dispute_out(d: Dispute, *, merged: bool | None = None, seal: dict[str, Any] | None = None) -> dict[str, Any]:
    """`seal`: the ruling's seal_state when the caller has it already (a list reads them in one go)."""
    ruling = None
    if d.ruled_at is not None:
        ruling = {
            "decision": d.decision,
            "payeeShareBps": d.payee_share_bps,
            "rationale": d.rationale,
            "arbitratorActorId": d.arbitrator_actor_id,
            "ruledAt": d.ruled_at,
            "final": d.round == 2,
            "eventSeq": d.ruling_event_seq,
            "seal": seal or seal_state(d.ruling_event_seq),
        }
    out = {
        "disputeId": d.dispute_id,
        "taskId": d.task.task_id,
        "receiptId": d.receipt.receipt_id,
        "initiatorActorId": d.initiator_actor_id,
        "creatorActorId": d.creator_actor_id,
        "delivererActorId": d.deliverer_actor_id,
        "arbitratorType": d.arbitrator_type,
        "status": d.status,
        "reason": d.reason,
        "round": d.round,
        "ruling": ruling,
        "appealDeadline": d.appeal_deadline,
        "appeal": {"byActorId": d.appealed_by, "reason": d.appeal_reason} if d.appealed_by else None,
        "history": d.history,
        "paidOut": d.paid_out_at is not None,
        "evidence": [
            {
                "evidenceId": e.evidence_id,
                "submitterActorId": e.submitter_actor_id,
                "kind": e.kind,
                "content": e.content,
                "uri": e.uri,
                "sha256": e.sha256,
                "createdAt": e.created_at,
            }
            for e in dispute_selectors.dispute_evidence(d)
        ],
        "hash": object_hash({"disputeId": d.dispute_id, "taskId": d.task.task_id, "reason": d.reason}),
        "createdAt": d.created_at,
    }
    if merged is not None:
        out["merged"] = merged
    return out
