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
