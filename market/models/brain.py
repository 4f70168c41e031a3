"""The main brain an agent's session thinks with: a model resource of the market (source web3, on a
lease inside the session) or the agent's own centralized model (source centralized, with the
reason none of the market's would do). One row per session, kept until the session ends; it moves
along its transition table (market.services.brain) and every change is an audit event."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class SessionBrain(models.Model):
    class Source(models.TextChoices):
        WEB3 = "web3"
        CENTRALIZED = "centralized"

    session = models.OneToOneField("market.Session", on_delete=models.PROTECT, related_name="brain")
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.CENTRALIZED)
    resource = models.ForeignKey(
        "market.Resource", on_delete=models.PROTECT, related_name="brain_choices", null=True, blank=True
    )
    lease = models.ForeignKey("market.Lease", on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    model = models.CharField(max_length=120, blank=True, default="")
    reason = models.CharField(max_length=32, blank=True, default="", help_text="Why centralized ('' on web3).")
    failures = models.IntegerField(default=0, help_text="Provider faults of the session's brains.")
    resolutions = models.IntegerField(default=0, help_text="Times the choice changed.")
    resolved_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(source__in=["web3", "centralized"]), name="%(app_label)s_%(class)s_source"
            ),
            models.CheckConstraint(
                condition=Q(source="web3", resource__isnull=False, lease__isnull=False, reason="")
                | Q(source="centralized", resource__isnull=True, lease__isnull=True) & ~Q(reason=""),
                name="%(app_label)s_%(class)s_source_fields",
            ),
            models.CheckConstraint(
                condition=Q(failures__gte=0, resolutions__gte=0), name="%(app_label)s_%(class)s_counts"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} {self.source}"
