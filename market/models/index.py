"""The resource index: signed reports a provider makes about its resources (price, tags, time)."""

from __future__ import annotations

from django.db import models


class IndexReport(models.Model):
    """Append-only; the newest report of a resource sets its freshness in the index."""

    report_id = models.CharField(max_length=40, unique=True)
    resource = models.ForeignKey("market.Resource", on_delete=models.PROTECT, related_name="index_reports")
    provider_actor_id = models.CharField(max_length=42, db_index=True)
    entry = models.TextField(help_text="The signed entry, RFC 8785 canonical JSON.")
    entry_hash = models.CharField(max_length=80)
    signature = models.CharField(max_length=132)
    reported_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["resource", "created_at"])]

    def __str__(self) -> str:
        return self.report_id


class ResourceStanding(models.Model):
    """What the index shows of a resource without reading its reports or invocations: the newest
    report's time, and the calls of its two most recent health buckets (market.services.standing),
    kept up to date with each report and each finished call. `degraded_from`/`degraded_until` is the
    stretch of time over which those counts make it degraded, so the index can filter by health
    with an index range instead of counting calls. On PostgreSQL the pair has joint statistics
    (migration 0022): set together or not at all, they are not two independent 2% filters."""

    resource = models.OneToOneField(
        "market.Resource", on_delete=models.PROTECT, primary_key=True, related_name="standing"
    )
    last_reported_at = models.DateTimeField(null=True, blank=True)
    window_start = models.DateTimeField(null=True, blank=True, help_text="Start of the newest health bucket.")
    window_calls = models.IntegerField(default=0)
    window_faults = models.IntegerField(default=0)
    prior_calls = models.IntegerField(default=0, help_text="Calls of the bucket before window_start's.")
    prior_faults = models.IntegerField(default=0)
    degraded_from = models.DateTimeField(null=True, blank=True)
    degraded_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["last_reported_at"], name="market_standing_reported"),
            models.Index(fields=["degraded_until"], name="market_standing_degraded"),
        ]

    def __str__(self) -> str:
        return f"standing of resource {self.resource_id}"


class ProviderStanding(models.Model):
    """A provider's finished calls and the ones that were its fault (E_UNAVAILABLE, E_TIMEOUT),
    over all its resources: the reputation's counts, kept up to date with each finished call."""

    actor_id = models.CharField(max_length=42, primary_key=True)
    calls = models.BigIntegerField(default=0)
    faults = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"standing of {self.actor_id}"
