"""The hash-chained audit log. Every state change appends one AuditEvent in the same transaction.

event hash = sha256(RFC 8785 JSON of {seq, eventId, actorId, action, objectType, objectId,
payloadSha256, prevHash, createdAt}); prevHash is the previous event's hash (64 zeros for the first).
The head row is locked last in every writing transaction, which orders the chain. Whether an event
is sealed is derived from checkpoints (seq < tree size), never stored on the event.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from typing import Any

import rfc8785
from django.db import connection, models, transaction
from django.utils import timezone

from market import sql
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


# RFC 8785 for the values audit payloads hold, at the speed of the json module's C encoder: for
# strings, safe integers, booleans, null, lists and objects with ASCII keys its output is exactly
# RFC 8785's (same escapes, and code-point key order equals UTF-16 order for ASCII). Anything else
# (floats, big integers, non-ASCII keys) goes to rfc8785 itself.
_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
_SAFE_INT = 2**53 - 1


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, (str, bool)):
        return True
    if isinstance(value, int):
        return -_SAFE_INT <= value <= _SAFE_INT
    if isinstance(value, dict):
        return all(type(k) is str and k.isascii() and _plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return False


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical JSON."""
    if _plain(value):
        try:
            return _JSON.encode(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: rfc8785 refuses it, with its own error
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
    acting actor is always one); they can find the event with web3.audit.query.

    Everything that does not need the head is prepared before it is locked, and the statements
    after are plain SQL (market.sql): every money transaction of the market queues on this row."""
    if not connection.in_atomic_block:
        with transaction.atomic():
            return audit_record(actor_id=actor_id, action=action, object_type=object_type, object_id=object_id,
                                payload=payload, parties=parties)
    payload_text = canonical(redact(payload or {})).decode()
    payload_sha256 = hashlib.sha256(payload_text.encode()).hexdigest()
    event_id = new_id("evt")
    who = sorted({a for a in (actor_id, *parties) if a and a.startswith("0x")})
    lock_head = "SELECT next_seq, last_hash FROM market_audithead WHERE id = 1" + (  # noqa: S608 - fixed
        " FOR UPDATE" if connection.features.has_select_for_update else "")
    head = sql.execute(lock_head)
    if not head:
        AuditHead.objects.get_or_create(pk=1)
        head = sql.execute(lock_head)
    seq, prev_hash = head[0]
    now = timezone.now()
    digest = event_hash(
        seq=seq, event_id=event_id, actor_id=actor_id, action=action, object_type=object_type,
        object_id=object_id, payload_sha256=payload_sha256, prev_hash=prev_hash, created_at=event_time_text(now),
    )
    event = AuditEvent(
        seq=seq, event_id=event_id, actor_id=actor_id, action=action, object_type=object_type,
        object_id=object_id, payload=payload_text, payload_sha256=payload_sha256,
        prev_hash=prev_hash, hash=digest, created_at=now,
    )
    if connection.vendor == "postgresql":
        # One round trip while the head is held: the event, the head and the parties together.
        event.pk = sql.execute(_PG_APPEND, [seq, event_id, actor_id, action, object_type, object_id, payload_text,
                                            payload_sha256, prev_hash, digest, now, seq + 1, digest, who])[0][0]
        event._state.adding, event._state.db = False, connection.alias
        return event
    sql.insert(event)
    sql.execute("UPDATE market_audithead SET next_seq = %s, last_hash = %s WHERE id = 1", [seq + 1, digest])
    if who:
        sql.execute("INSERT INTO market_auditparty (event_id, actor_id) VALUES "  # noqa: S608 - fixed names
                    + ", ".join(["(%s, %s)"] * len(who)),
                    [v for a in who for v in (event.pk, a)])
    return event


_PG_APPEND = """
WITH ev AS (
    INSERT INTO market_auditevent (seq, event_id, actor_id, action, object_type, object_id, payload,
                                   payload_sha256, prev_hash, hash, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id
), head AS (
    UPDATE market_audithead SET next_seq = %s, last_hash = %s WHERE id = 1
), parties AS (
    INSERT INTO market_auditparty (event_id, actor_id) SELECT ev.id, p FROM ev, unnest(%s::varchar[]) AS p
)
SELECT id FROM ev
"""


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
