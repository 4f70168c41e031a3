"""Signed checkpoints of the audit log's Merkle tree, and their anchors on an EVM chain.

A checkpoint says "the first `tree_size` audit events have Merkle root `root`"
(market.audit.merkle), signed by WEB3_CHECKPOINT_KEY over market.audit.proofs.checkpoint_statement.
Checkpoints are append-only (the database refuses UPDATE and DELETE); an event is sealed when its
seq is below some checkpoint's tree size. The mutable anchoring state lives beside it, one CheckpointAnchor per
checkpoint once a chain is configured.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from market.audit.hashchain import event_time_text
from market.audit.proofs import checkpoint_statement
from market.models.outbox import OutboxTransaction


class Checkpoint(models.Model):
    tree_size = models.BigIntegerField(unique=True)
    root = models.CharField(max_length=64, help_text="Hex Merkle root of events 0..tree_size-1.")
    created_at = models.DateTimeField()
    signature = models.CharField(max_length=132, help_text="0x EIP-191 signature of the statement.")
    signer = models.CharField(max_length=42, help_text="Lowercase address of the signing key.")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(tree_size__gt=0), name="%(app_label)s_%(class)s_tree_size"),
            models.CheckConstraint(condition=Q(root__regex=r"^[0-9a-f]{64}$"), name="%(app_label)s_%(class)s_root"),
        ]

    def __str__(self) -> str:
        return f"checkpoint {self.tree_size}"

    @property
    def created_text(self) -> str:
        return event_time_text(self.created_at)

    @property
    def statement(self) -> str:
        return checkpoint_statement(self.tree_size, self.root, self.created_text)


class AnchorStatus(models.TextChoices):
    PENDING = "anchor_pending", "pending"  # nothing signed yet
    SIGNED = "anchor_signed", "signed"  # raw transaction stored, not yet accepted by a node
    SENT = "anchor_sent", "sent"  # accepted by a node, waiting for its receipt
    ANCHORED = "anchor_anchored", "anchored"  # mined with status 1
    FAILED = "anchor_failed", "failed"  # mined but reverted: needs an operator


class CheckpointAnchor(OutboxTransaction):
    """The transaction that carries one checkpoint's root. The signed raw transaction and its nonce
    are stored before the first broadcast, so every retry rebroadcasts the same transaction."""

    Status = AnchorStatus

    checkpoint = models.OneToOneField(Checkpoint, on_delete=models.PROTECT, related_name="anchor")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    anchored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(status__in=AnchorStatus.values), name="%(app_label)s_%(class)s_status"),
            # One nonce per sender and chain: two signers can never spend the same nonce.
            models.UniqueConstraint(
                fields=["chain_id", "sender", "nonce"],
                condition=Q(nonce__isnull=False),
                name="%(app_label)s_%(class)s_nonce",
            ),
            # Past pending, the signed transaction is always there.
            models.CheckConstraint(
                condition=Q(status="anchor_pending") | (Q(nonce__isnull=False) & ~Q(raw_tx="") & ~Q(tx_hash="")),
                name="%(app_label)s_%(class)s_signed_fields",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"anchor of {self.checkpoint_id}: {self.status}"


class MerkleChunk(models.Model):
    """The root of one perfect subtree of the audit log's Merkle tree: leaves (events)
    [index * 2**level, (index + 1) * 2**level). Derived from the events, written once by the sealer
    when the subtree is complete and never changed (append-only), so that sealing and proofs combine
    these roots instead of re-hashing every event; verify_audit recomputes each from the events."""

    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    root = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["level", "index"], name="%(app_label)s_%(class)s_once"),
            models.CheckConstraint(condition=Q(index__gte=0, level__lte=30), name="%(app_label)s_%(class)s_range"),
            models.CheckConstraint(condition=Q(root__regex=r"^[0-9a-f]{64}$"), name="%(app_label)s_%(class)s_root"),
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} (level {self.level})"
