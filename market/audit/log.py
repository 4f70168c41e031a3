"""The audit log's one write path: every state change appends its event here, inside the
transaction of the change it records, with secrets redacted from the payload.

The payload is stored as its RFC 8785 canonical JSON text (market.canonical). A leaf is written with
its content hash and no position, and takes no lock: the sequencer (market.audit.sequencer) chains
the committed leaves afterwards, and is asked to run after this transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from market import sql
from market.audit.hashchain import content_hash, hashed_fields
from market.audit.sequencer import schedule_after_commit
from market.canonical import canonical_text, sha256_text
from market.ids import new_id
from market.models import AuditEvent, AuditParty

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


def _leaf(rec: dict[str, Any], now) -> tuple[AuditEvent, list[str]]:
    """The unsequenced event of one record (audit_record's keyword arguments), and its parties."""
    actor_id = rec["actor_id"]
    payload_text = canonical_text(redact(_with_agent(actor_id, rec.get("payload"))))
    values = {
        "event_id": new_id("evt"),
        "actor_id": actor_id,
        "action": rec["action"],
        "object_type": rec["object_type"],
        "object_id": rec["object_id"],
        "payload_sha256": sha256_text(payload_text),
        "created_at": now,
    }
    event = AuditEvent(**values, payload=payload_text, content_hash=content_hash(**hashed_fields(values)))
    who = sorted({a for a in (actor_id, *rec.get("parties", ())) if a and a.startswith("0x")})
    return event, who


class Leaf(sql.Chained):
    """One audit leaf and its parties, not yet written: audit_record writes it alone; a money move
    writes it in the statement of its rows (market.sql.insert_with and the like)."""

    def __init__(self, event: AuditEvent, who: list[str]) -> None:
        self.event, self.who = event, who

    def parts(self, prefix: str) -> list[tuple[str, str, list]]:
        statement, params = sql.insert_statement(self.event)
        parties = (
            f"INSERT INTO market_auditparty (event_id, actor_id) SELECT {prefix}ev.id, p "  # noqa: S608 - fixed names
            f"FROM {prefix}ev, unnest(%s::varchar[]) AS p"
        )
        return [(f"{prefix}ev", statement, params), (f"{prefix}parties", parties, [self.who])]

    def run(self) -> None:
        sql.insert(self.event)
        if self.who:
            sql.execute(
                "INSERT INTO market_auditparty (event_id, actor_id) VALUES "  # noqa: S608 - fixed names
                + ", ".join(["(%s, %s)"] * len(self.who)),
                [v for a in self.who for v in (self.event.pk, a)],
            )


def audit_leaf(
    *,
    actor_id: str,
    action: str,
    object_type: str,
    object_id: str,
    payload: dict[str, Any] | None = None,
    parties: list[str] | tuple[str, ...] = (),
) -> Leaf:
    """audit_record's leaf, to be written by the caller with other statements of its transaction
    (which it must be inside). In a batch, its event's pk stays unset."""
    rec = {"actor_id": actor_id, "action": action, "object_type": object_type, "object_id": object_id}
    event, who = _leaf({**rec, "payload": payload, "parties": parties}, timezone.now())
    schedule_after_commit()
    return Leaf(event, who)


def audit_record(
    *,
    actor_id: str,
    action: str,
    object_type: str,
    object_id: str,
    payload: dict[str, Any] | None = None,
    parties: list[str] | tuple[str, ...] = (),
) -> AuditEvent:
    """Append one leaf to the log, in the transaction of the change it records (it takes no lock).
    `parties`: the actors the object concerns (the acting actor is always one); they can find the
    event with web3.audit.query. The event's seq, prev_hash and hash are None until the sequencer
    has run (after this transaction commits, or when a read needs them)."""
    with nullcontext() if connection.in_atomic_block else transaction.atomic():
        leaf = audit_leaf(
            actor_id=actor_id,
            action=action,
            object_type=object_type,
            object_id=object_id,
            payload=payload,
            parties=parties,
        )
        return _write_alone(leaf)


def _write_alone(leaf: Leaf) -> AuditEvent:
    """Write a leaf in statements of its own (one on PostgreSQL); sets its event's pk."""
    if not sql.batched():
        leaf.run()
        return leaf.event
    # One round trip: the event and its parties together.
    parts = leaf.parts("")
    leaf.event.pk = sql.execute(
        f"WITH {', '.join(f'{name} AS ({statement})' for name, statement, _ in parts)} SELECT id FROM ev",  # noqa: S608
        [p for _, _, ps in parts for p in ps],
    )[0][0]
    return leaf.event


_EVENT_COLUMNS = (
    "event_id",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "payload",
    "payload_sha256",
    "content_hash",
    "created_at",
)


def audit_record_many(records: list[dict[str, Any]]) -> list[AuditEvent]:
    """Append several leaves at once, in order (the set-based form of audit_record, for sweeps):
    the events in one statement, their parties in one more. Each record has audit_record's keyword
    arguments."""
    if not records:
        return []
    now = timezone.now()
    built = [_leaf(rec, now) for rec in records]
    rows = [[getattr(e, name) for name in _EVENT_COLUMNS] for e, _ in built]
    ids = dict((event_id, pk) for pk, event_id in sql.insert_rows(AuditEvent, _EVENT_COLUMNS, rows, ("id", "event_id")))
    for e, _ in built:
        e.pk = ids[e.event_id]
    sql.insert_rows(AuditParty, ("event", "actor_id"), [(e.pk, a) for e, actors in built for a in actors])
    schedule_after_commit()
    return [e for e, _ in built]
