"""Disputes over a task receipt, their evidence and rulings.

A dispute is opened by the deliverer and ruled by an arbitrator who is not a party: `rule` sets
the payee's share in basis points, `decline` lets the pre-dispute outcome stand. Either ruling can
be appealed once within the appeal window; the second ruling, by another arbitrator, is final.
The ruling's audit event seq is kept so its payout can wait for a checkpoint that covers it.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q

from market.canonical import object_hash
from market.models.constraints import status_check


class Dispute(models.Model):
    class Status(models.TextChoices):
        OPEN = "dispute_open"
        RESOLVED = "dispute_resolved"
        REJECTED = "dispute_rejected"
        APPEALED = "dispute_appealed"

    class Decision(models.TextChoices):
        RULE = "rule"
        DECLINE = "decline"

    LIVE = (Status.OPEN, Status.APPEALED)

    dispute_id = models.CharField(max_length=40, unique=True)
    task = models.ForeignKey("market.TaskOrder", on_delete=models.PROTECT, related_name="disputes")
    receipt = models.ForeignKey("market.TaskReceipt", on_delete=models.PROTECT, related_name="disputes")
    initiator_actor_id = models.CharField(max_length=42, db_index=True)
    creator_actor_id = models.CharField(max_length=42, db_index=True)
    deliverer_actor_id = models.CharField(max_length=42, db_index=True)
    arbitrator_type = models.CharField(max_length=16, default="offchain")
    reason = models.TextField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    round = models.PositiveSmallIntegerField(default=1)
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True, default="")
    payee_share_bps = models.IntegerField(null=True, blank=True)
    rationale = models.TextField(blank=True, default="")
    arbitrator_actor_id = models.CharField(max_length=42, blank=True, default="")
    first_arbitrator_actor_id = models.CharField(max_length=42, blank=True, default="")
    ruled_at = models.DateTimeField(null=True, blank=True)
    appeal_deadline = models.DateTimeField(null=True, blank=True)
    appealed_by = models.CharField(max_length=42, blank=True, default="")
    appeal_reason = models.TextField(blank=True, default="")
    ruling_event_seq = models.BigIntegerField(null=True, blank=True)
    history = models.JSONField(default=list, blank=True, help_text="Earlier rulings, oldest first.")
    paid_out_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            status_check("dispute_open", "dispute_resolved", "dispute_rejected", "dispute_appealed"),
            models.CheckConstraint(
                condition=Q(arbitrator_type__in=["offchain", "onchain"]), name="%(app_label)s_%(class)s_arbitrator_type"
            ),
            models.CheckConstraint(
                condition=Q(payee_share_bps__isnull=True) | Q(payee_share_bps__gte=0, payee_share_bps__lte=10000),
                name="%(app_label)s_%(class)s_share_bps_range",
            ),
            models.CheckConstraint(condition=Q(round__in=[1, 2]), name="%(app_label)s_%(class)s_round"),
            models.UniqueConstraint(
                fields=["receipt"],
                condition=Q(status__in=["dispute_open", "dispute_appealed"]),
                name="%(app_label)s_%(class)s_one_live_per_receipt",
            ),
        ]
        indexes = [models.Index(fields=["status", "appeal_deadline"])]

    def __str__(self) -> str:
        return self.dispute_id

    @property
    def parties(self) -> tuple[str, str]:
        return (self.creator_actor_id, self.deliverer_actor_id)

    @property
    def is_final(self) -> bool:
        return self.round == 2 and self.status in (self.Status.RESOLVED, self.Status.REJECTED)

    def ruling_entry(self) -> dict[str, Any]:
        """The current ruling as `history` keeps it (an appeal moves it there; the ruling page lists it)."""
        return {
            "decision": self.decision,
            "payeeShareBps": self.payee_share_bps,
            "rationale": self.rationale,
            "arbitratorActorId": self.arbitrator_actor_id,
            "ruledAt": self.ruled_at.isoformat(),
            "rulingEventSeq": self.ruling_event_seq,
        }

    @property
    def hash(self) -> str:
        """API.md's object hash over DISPUTE_HASH_FIELDS (market.hashing): the dispute's id, its
        task's id and the reason it was opened with. Reads `task`."""
        return object_hash({"disputeId": self.dispute_id, "taskId": self.task.task_id, "reason": self.reason})


class DisputeEvidence(models.Model):
    """One item of evidence. The bundle attached on opening is an item by `system`."""

    evidence_id = models.CharField(max_length=40, unique=True)
    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="evidence")
    submitter_actor_id = models.CharField(max_length=42, db_index=True)
    kind = models.CharField(max_length=40)
    content = models.TextField(blank=True, default="")
    uri = models.CharField(max_length=500, blank=True, default="")
    sha256 = models.CharField(max_length=64)
    cid = models.CharField(max_length=64, blank=True, default="", help_text="An archive object the parties can get.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="%(app_label)s_%(class)s_sha256"),
        ]

    def __str__(self) -> str:
        return self.evidence_id
