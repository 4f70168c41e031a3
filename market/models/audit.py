"""The hash-chained audit log. Every state change appends one AuditEvent in the same transaction.

event hash = sha256(RFC 8785 JSON of {seq, eventId, actorId, action, objectType, objectId,
payloadSha256, prevHash, createdAt}); prevHash is the previous event's hash (64 zeros for the first).
The head row is locked last in every writing transaction, which orders the chain. Whether an event
is sealed is derived from checkpoints (seq < tree size), never stored on the event.
"""

from __future__ import annotations

import hashlib
from datetime import UTC
from typing import Any

import rfc8785
from django.db import models
from django.utils import timezone

from market.ids import new_id

GENESIS_HASH = "0" * 64
REDACTED = "[redacted]"
# Keys whose values never reach the audit payload (compared case-insensitively, without _ and -).
SECRET_KEYS = {"endpoint", "accesstoken", "token", "secret", "password", "privatekey", "authorization",
               "apikey", "key", "url", "uri"}


class AuditHead(models.Model):
    """One row (id=1): the next sequence number and the last event's hash."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    next_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"audit head at {self.next_seq}"


class AuditEvent(models.Model):
    """Immutable. The database refuses UPDATE, and DELETE unless the maintenance flag is set."""

    seq = models.BigIntegerField(unique=True)
    event_id = models.CharField(max_length=40, unique=True)
    actor_id = models.CharField(max_length=42, db_index=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64)
    payload = models.TextField(help_text="RFC 8785 canonical JSON, secrets redacted.")
    payload_sha256 = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["object_type", "object_id"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(seq__gte=0), name="%(app_label)s_%(class)s_seq"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


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


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (REDACTED if k.lower().replace("_", "").replace("-", "") in SECRET_KEYS else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def canonical(value: Any) -> bytes:
    return rfc8785.dumps(value)


def event_hash(*, seq: int, event_id: str, actor_id: str, action: str, object_type: str, object_id: str,
               payload_sha256: str, prev_hash: str, created_at: str) -> str:
    body = {
        "seq": seq, "eventId": event_id, "actorId": actor_id, "action": action,
        "objectType": object_type, "objectId": object_id, "payloadSha256": payload_sha256,
        "prevHash": prev_hash, "createdAt": created_at,
    }
    return hashlib.sha256(canonical(body)).hexdigest()


def event_time_text(dt) -> str:
    """The exact text of created_at that goes into the event hash (UTC, microseconds)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def audit_record(*, actor_id: str, action: str, object_type: str, object_id: str,
                 payload: dict[str, Any] | None = None, parties: list[str] | tuple[str, ...] = ()) -> AuditEvent:
    """Append one event to the chain. Call inside the transaction of the change it records, after
    every other row lock (the head is locked last). `parties`: the actors the object concerns (the
    acting actor is always one); they can find the event with web3.audit.query."""
    payload_text = canonical(redact(payload or {})).decode()
    payload_sha256 = hashlib.sha256(payload_text.encode()).hexdigest()
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditHead.objects.get_or_create(pk=1)
        head = AuditHead.objects.select_for_update().get(pk=1)
    now = timezone.now()
    created = event_time_text(now)
    event_id = new_id("evt")
    digest = event_hash(
        seq=head.next_seq, event_id=event_id, actor_id=actor_id, action=action, object_type=object_type,
        object_id=object_id, payload_sha256=payload_sha256, prev_hash=head.last_hash, created_at=created,
    )
    event = AuditEvent.objects.create(
        seq=head.next_seq, event_id=event_id, actor_id=actor_id, action=action, object_type=object_type,
        object_id=object_id, payload=payload_text, payload_sha256=payload_sha256,
        prev_hash=head.last_hash, hash=digest, created_at=now,
    )
    AuditHead.objects.filter(pk=1).update(next_seq=head.next_seq + 1, last_hash=digest)
    who = {a for a in (actor_id, *parties) if a and a.startswith("0x")}
    AuditParty.objects.bulk_create([AuditParty(event=event, actor_id=a) for a in sorted(who)])
    return event


def audit_record_many(records: list[dict[str, Any]]) -> list[AuditEvent]:
    """Append several events at once, in order (the set-based form of audit_record, for sweeps).
    Each record has audit_record's keyword arguments. Call after every other row lock."""
    if not records:
        return []
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditHead.objects.get_or_create(pk=1)
        head = AuditHead.objects.select_for_update().get(pk=1)
    now = timezone.now()
    created = event_time_text(now)
    seq, prev = head.next_seq, head.last_hash
    events, who = [], []
    for rec in records:
        payload_text = canonical(redact(rec.get("payload") or {})).decode()
        payload_sha256 = hashlib.sha256(payload_text.encode()).hexdigest()
        event_id = new_id("evt")
        digest = event_hash(
            seq=seq, event_id=event_id, actor_id=rec["actor_id"], action=rec["action"],
            object_type=rec["object_type"], object_id=rec["object_id"], payload_sha256=payload_sha256,
            prev_hash=prev, created_at=created,
        )
        events.append(AuditEvent(
            seq=seq, event_id=event_id, actor_id=rec["actor_id"], action=rec["action"],
            object_type=rec["object_type"], object_id=rec["object_id"], payload=payload_text,
            payload_sha256=payload_sha256, prev_hash=prev, hash=digest, created_at=now,
        ))
        who.append(sorted({a for a in (rec["actor_id"], *rec.get("parties", ())) if a and a.startswith("0x")}))
        seq, prev = seq + 1, digest
    AuditEvent.objects.bulk_create(events)
    AuditHead.objects.filter(pk=1).update(next_seq=seq, last_hash=prev)
    if any(e.pk is None for e in events):  # a backend that does not return ids from a bulk insert
        ids = dict(AuditEvent.objects.filter(seq__gte=events[0].seq, seq__lt=seq).values_list("seq", "pk"))
        for e in events:
            e.pk = ids[e.seq]
    AuditParty.objects.bulk_create([AuditParty(event_id=e.pk, actor_id=a) for e, actors in zip(events, who, strict=True)
                                    for a in actors])
    return events
