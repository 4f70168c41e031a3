"""What an actor sets for itself: the balance below which its dashboard warns it."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class BalanceThreshold(models.Model):
    """Low-balance notice: below `amount` (minor units of `currency`) available, the actor's
    dashboard says so. One per actor and currency; no row means no notice."""

    actor_id = models.CharField(max_length=42)
    currency = models.CharField(max_length=10)
    amount = models.BigIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["actor_id", "currency"], name="%(app_label)s_%(class)s_owner"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="%(app_label)s_%(class)s_amount_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_id} {self.currency} below {self.amount}"
