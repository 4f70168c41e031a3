"""The hash-chained audit log's rows. Every state change appends one AuditEvent (a leaf) in the same
transaction, through market.audit.log (the one write path), with its content hash and no position;
the sequencer (market.audit.sequencer), one at a time under the head row's lock, later gives the
committed leaves their seq, prev_hash and chain hash, once. What the hashes commit to is
market.audit.hashchain. Whether an event is sealed is derived from checkpoints (seq < tree size),
never stored on the event.
"""

from __future__ import annotations

from django.db import models

from market.audit.hashchain import GENESIS_HASH, event_time_text


class AuditHead(models.Model):
    """One row (id=1): the next sequence number and the last sequenced event's hash. Only the
    sequencer locks and writes it."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    next_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"audit head at {self.next_seq}"


class AuditEvent(models.Model):
    """Immutable, but for its position: the database refuses every UPDATE except the sequencer's one
    setting of seq, prev_hash and hash from NULL (migration 0018), and DELETE unless the maintenance
    flag is set. seq, prev_hash and hash are NULL together until the leaf is sequenced."""

    seq = models.BigIntegerField(unique=True, null=True, blank=True)
    event_id = models.CharField(max_length=40, unique=True)
    actor_id = models.CharField(max_length=42, db_index=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64)
    payload = models.TextField(help_text="RFC 8785 canonical JSON, secrets redacted.")
    payload_sha256 = models.CharField(max_length=64)
    content_hash = models.CharField(max_length=64, help_text="sha256 of the leaf without its position.")
    prev_hash = models.CharField(max_length=64, null=True, blank=True)
    hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            # The sequencer's queue: the leaves still waiting for a position, by id.
            models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="market_auditevent_unsequenced"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(seq__gte=0), name="%(app_label)s_%(class)s_seq"),
            models.CheckConstraint(
                condition=models.Q(seq__isnull=True, prev_hash__isnull=True, hash__isnull=True)
                | models.Q(seq__isnull=False, prev_hash__isnull=False, hash__isnull=False),
                name="%(app_label)s_%(class)s_position",
            ),
        ]

    def __str__(self) -> str:
        where = f"#{self.seq}" if self.seq is not None else "(unsequenced)"
        return f"{where} {self.action} {self.object_type}:{self.object_id}"

    @property
    def created_text(self) -> str:
        """The time as the event's hash commits to it (YYYY-MM-DDTHH:MM:SS.ffffffZ)."""
        return event_time_text(self.created_at)


class AuditParty(models.Model):
    """Who an event concerns (the parties of its object), so an actor can query its own events."""

    event = models.ForeignKey(AuditEvent, on_delete=models.CASCADE, related_name="parties")
    actor_id = models.CharField(max_length=42)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "actor_id"], name="%(app_label)s_%(class)s_unique"),
        ]
        indexes = [models.Index(fields=["actor_id", "event"])]

    def __str__(self) -> str:
        return f"{self.actor_id} in {self.event_id}"
