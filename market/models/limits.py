"""The market-wide limits that bound every agent's spend policy, set by staff.

One row (id 1) with one column per limit, kept as the decimal string staff gave (read in the scale
of whichever currency a cap is compared in, as a policy's amounts are). A column left null, or no
row at all, means the environment's default (WEB3_AGENT_MAX_SESSION_CAP, WEB3_AGENT_MAX_DAILY_CAP):
a fresh market behaves as before, and staff can hand a limit back to its default.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

LIMITS_ROW = 1


class MarketLimits(models.Model):
    id = models.PositiveSmallIntegerField(primary_key=True, default=LIMITS_ROW)
    max_session_cap = models.CharField(
        max_length=40, null=True, blank=True, help_text="Most a policy's sessionCap may be (null: the default)."
    )
    max_daily_cap = models.CharField(
        max_length=40, null=True, blank=True, help_text="Most a policy's dailyCap may be (null: the default)."
    )
    updated_by = models.CharField(max_length=42, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "market limits"
        constraints = [models.CheckConstraint(condition=Q(id=LIMITS_ROW), name="%(app_label)s_%(class)s_one_row")]

    def __str__(self) -> str:
        return "market limits"
