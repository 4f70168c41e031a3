"""The audit log's one write path: every state change appends its event here, inside the
transaction of the change it records, with secrets redacted from the payload.

The payload is stored as its RFC 8785 canonical JSON text (market.canonical); the event's hash chains
it to the previous event (market.audit.hashchain). The head row (AuditHead) is locked after every
other row lock, which orders the chain.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from market import sql
from market.audit.hashchain import event_hash, event_time_text
from market.canonical import canonical_text, sha256_text
from market.ids import new_id
from market.locks import lock_audit_head
from market.models import AuditEvent, AuditHead, AuditParty

REDACTED = "[redacted]"
# Keys whose values never reach the audit payload (compared case-insensitively, without _ and -).
SECRET_KEYS = {
    "endpoint",
    "accesstoken",
    "token",
    "secret",
    "password",
    "privatekey",
    "authorization",
    "apikey",
    "key",
    "url",
    "uri",
}


# Who acts for the actor: set by the door that authenticated a delegated (agent) token, for the
# length of its call. Every event the actor records meanwhile names the agent beside the owner.
_AGENT: ContextVar[dict[str, str] | None] = ContextVar("audit_agent", default=None)


@contextmanager
def acting_agent(*, owner_actor_id: str, token_id: str, label: str) -> Iterator[None]:
    """Events recorded inside, by `owner_actor_id`, carry `agent: {owner, tokenId, label}`."""
    reset = _AGENT.set({"owner": owner_actor_id, "tokenId": token_id, "label": label})
    try:
        yield
    finally:
        _AGENT.reset(reset)


def _with_agent(actor_id: str, payload: dict[str, Any] | None) -> dict[str, Any]:
    agent = _AGENT.get()
    if agent is None or agent["owner"] != actor_id:
        return payload or {}
    return {**(payload or {}), "agent": dict(agent)}


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (REDACTED if k.lower().replace("_", "").replace("-", "") in SECRET_KEYS else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def audit_record(
    *,
    actor_id: str,
    action: str,
    object_type: str,
    object_id: str,
    payload: dict[str, Any] | None = None,
    parties: list[str] | tuple[str, ...] = (),
) -> AuditEvent:
    """Append one event to the chain. Call inside the transaction of the change it records, after
    every other row lock (the head is locked last). `parties`: the actors the object concerns (the
    acting actor is always one); they can find the event with web3.audit.query.

    Everything that does not need the head is prepared before it is locked, and the statements
    after are plain SQL (market.sql): every money transaction of the market queues on this row."""
    if not connection.in_atomic_block:
        with transaction.atomic():
            return audit_record(
                actor_id=actor_id,
                action=action,
                object_type=object_type,
                object_id=object_id,
                payload=payload,
                parties=parties,
            )
    payload_text = canonical_text(redact(_with_agent(actor_id, payload)))
    payload_sha256 = sha256_text(payload_text)
    event_id = new_id("evt")
    who = sorted({a for a in (actor_id, *parties) if a and a.startswith("0x")})
    seq, prev_hash = lock_audit_head()
    now = timezone.now()
    digest = event_hash(
        seq=seq,
        event_id=event_id,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        payload_sha256=payload_sha256,
        prev_hash=prev_hash,
        created_at=event_time_text(now),
    )
    event = AuditEvent(
        seq=seq,
        event_id=event_id,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        payload=payload_text,
        payload_sha256=payload_sha256,
        prev_hash=prev_hash,
        hash=digest,
        created_at=now,
    )
    if sql.batched():
        # One round trip while the head is held: the event, the head and the parties together.
        event.pk = sql.execute(
            _PG_APPEND,
            [
                seq,
                event_id,
                actor_id,
                action,
                object_type,
                object_id,
                payload_text,
                payload_sha256,
                prev_hash,
                digest,
                now,
                seq + 1,
                digest,
                who,
            ],
        )[0][0]
        return event
    sql.insert(event)
    sql.execute("UPDATE market_audithead SET next_seq = %s, last_hash = %s WHERE id = 1", [seq + 1, digest])
    if who:
        sql.execute(
            "INSERT INTO market_auditparty (event_id, actor_id) VALUES "  # noqa: S608 - fixed names
            + ", ".join(["(%s, %s)"] * len(who)),
            [v for a in who for v in (event.pk, a)],
        )
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
    seq, prev = lock_audit_head()
    now = timezone.now()
    created = event_time_text(now)
    events, who = [], []
    for rec in records:
        payload_text = canonical_text(redact(_with_agent(rec["actor_id"], rec.get("payload"))))
        payload_sha256 = sha256_text(payload_text)
        event_id = new_id("evt")
        digest = event_hash(
            seq=seq,
            event_id=event_id,
            actor_id=rec["actor_id"],
            action=rec["action"],
            object_type=rec["object_type"],
            object_id=rec["object_id"],
            payload_sha256=payload_sha256,
            prev_hash=prev,
            created_at=created,
        )
        events.append(
            AuditEvent(
                seq=seq,
                event_id=event_id,
                actor_id=rec["actor_id"],
                action=rec["action"],
                object_type=rec["object_type"],
                object_id=rec["object_id"],
                payload=payload_text,
                payload_sha256=payload_sha256,
                prev_hash=prev,
                hash=digest,
                created_at=now,
            )
        )
        who.append(sorted({a for a in (rec["actor_id"], *rec.get("parties", ())) if a and a.startswith("0x")}))
        seq, prev = seq + 1, digest
    AuditEvent.objects.bulk_create(events)
    AuditHead.objects.filter(pk=1).update(next_seq=seq, last_hash=prev)
    if any(e.pk is None for e in events):  # a backend that does not return ids from a bulk insert
        ids = dict(AuditEvent.objects.filter(seq__gte=events[0].seq, seq__lt=seq).values_list("seq", "pk"))
        for e in events:
            e.pk = ids[e.seq]
    AuditParty.objects.bulk_create(
        [AuditParty(event_id=e.pk, actor_id=a) for e, actors in zip(events, who, strict=True) for a in actors]
    )
    return events
