"""Settlement: one escrow lock and what became of it (API.md's states)."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class Settlement(models.Model):
    class Status(models.TextChoices):
        LOCKED = "settlement_locked"
        PARTIALLY_RELEASED = "settlement_partially_released"
        RELEASED = "settlement_released"
        REFUNDED = "settlement_refunded"

    OPEN = (Status.LOCKED, Status.PARTIALLY_RELEASED)

    settlement_id = models.CharField(max_length=40, unique=True)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.LOCKED)
    currency = models.CharField(max_length=10)
    payer_actor_id = models.CharField(max_length=42)
    payee_actor_id = models.CharField(max_length=42, db_index=True)
    payer_account = models.ForeignKey("market.Account", on_delete=models.PROTECT, related_name="+")
    payee_account = models.ForeignKey("market.Account", on_delete=models.PROTECT, related_name="+")
    locked = models.BigIntegerField()
    released = models.BigIntegerField(default=0)
    refunded = models.BigIntegerField(default=0)
    lock_transfer = models.OneToOneField(
        "market.Transfer", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    reference = models.CharField(max_length=120, blank=True, default="", db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # A payer's settlements, and among them those of one kind of object by their reference's prefix
        # (the dashboard's reserved parts read a range of it).
        indexes = [models.Index(fields=["payer_actor_id", "reference"], name="market_settlement_payer_ref")]
        constraints = [
            models.CheckConstraint(condition=Q(locked__gt=0), name="%(app_label)s_%(class)s_locked_positive"),
            models.CheckConstraint(
                condition=Q(released__gte=0, refunded__gte=0) & Q(locked__gte=F("released") + F("refunded")),
                name="%(app_label)s_%(class)s_remaining_nonnegative",
            ),
            # The status agrees with the amounts, exactly as API.md defines the states.
            models.CheckConstraint(
                condition=(
                    Q(status="settlement_locked", released=0, refunded=0)
                    | (
                        Q(status="settlement_partially_released", released__gt=0, refunded=0)
                        & Q(locked__gt=F("released"))
                    )
                    | Q(status="settlement_released", refunded=0, released=F("locked"))
                    | (Q(status="settlement_refunded", refunded__gt=0) & Q(locked=F("released") + F("refunded")))
                ),
                name="%(app_label)s_%(class)s_status_matches_amounts",
            ),
        ]

    def __str__(self) -> str:
        return self.settlement_id

    @property
    def remaining(self) -> int:
        return self.locked - self.released - self.refunded

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN
