"""The signer history: which key signed, or sends, what.

One row per key that came into use, never updated (a rotation adds a row):
- purpose `checkpoint`: the key signs the checkpoints whose tree size is above `from_tree_size`,
  until a later row takes over. verify_audit holds every checkpoint to the signer recorded for its
  range, so a checkpoint re-signed by any other key is caught, and the sealer signs only with the
  recorded current key (a key changed without `manage.py rotate_key checkpoint` stops sealing
  instead of starting an unrecorded history).
- purposes `anchor` and `operator`: the chain keys, in the order they came into use; the
  transactions they signed name their sender themselves (CheckpointAnchor, Withdrawal).
Addresses only: no key is ever stored here.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class SignerRecord(models.Model):
    class Purpose(models.TextChoices):
        CHECKPOINT = "checkpoint", "checkpoint signing key"
        ANCHOR = "anchor", "anchor key"
        OPERATOR = "operator", "vault operator key"

    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    address = models.CharField(max_length=42, help_text="Lowercase address of the key.")
    from_tree_size = models.BigIntegerField(
        default=0, help_text="Checkpoint keys: signs the checkpoints with a larger tree size (until the next row)."
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(purpose__in=["checkpoint", "anchor", "operator"]), name="%(app_label)s_%(class)s_purpose"
            ),
            models.CheckConstraint(
                condition=Q(address__regex=r"^0x[0-9a-f]{40}$"), name="%(app_label)s_%(class)s_address"
            ),
            models.CheckConstraint(condition=Q(from_tree_size__gte=0), name="%(app_label)s_%(class)s_from"),
        ]
        indexes = [models.Index(fields=["purpose", "id"])]

    def __str__(self) -> str:
        return f"{self.purpose} key {self.address}"
