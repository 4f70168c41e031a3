"""The archive: content-addressed objects (the CID of their plain bytes, CIDv1 raw sha2-256) whose
bytes live encrypted in the archive storage (market.archive_store), and who may read each one.

An object exists once however many actors put the same bytes; each actor that put it, or that a
task result or dispute evidence naming it made a party, has a grant. Objects and grants are never
updated or deleted by the market.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class ArchiveObject(models.Model):
    cid = models.CharField(max_length=64, unique=True, help_text="CIDv1 (base32, raw, sha2-256) of the plain bytes.")
    sha256 = models.CharField(max_length=64, help_text="Hex sha256 of the plain bytes (the CID's digest).")
    media_type = models.CharField(max_length=129, help_text="As the first put declared it.")
    size = models.BigIntegerField(help_text="Bytes before encryption.")
    created_by = models.CharField(max_length=42)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(size__gte=0), name="%(app_label)s_%(class)s_size"),
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="%(app_label)s_%(class)s_sha256"),
        ]

    def __str__(self) -> str:
        return self.cid


class ArchiveGrant(models.Model):
    """`actor_id` may get `object`. `reason` says why: it put the bytes (put), its agent's hook
    trail holds them (hook), or it is a party of a task result (artifact) or dispute (evidence)
    naming them. Objects an actor put or ingested count towards its storage quota."""

    class Reason(models.TextChoices):
        PUT = "put"
        HOOK = "hook"
        ARTIFACT = "artifact"
        EVIDENCE = "evidence"

    UPLOADS = (Reason.PUT, Reason.HOOK)

    object = models.ForeignKey(ArchiveObject, on_delete=models.PROTECT, related_name="grants")
    actor_id = models.CharField(max_length=42)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["object", "actor_id"], name="%(app_label)s_%(class)s_unique"),
            models.CheckConstraint(
                condition=Q(reason__in=["put", "hook", "artifact", "evidence"]), name="%(app_label)s_%(class)s_reason"
            ),
        ]
        indexes = [models.Index(fields=["actor_id", "reason"])]

    def __str__(self) -> str:
        return f"{self.actor_id} may get {self.object_id}"
