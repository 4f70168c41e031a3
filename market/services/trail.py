"""The hook trail: web3.hooks.ingest, what an agent did around each LLM and tool call, kept
tamper-evident and without its secrets.

Each event's payload is canonicalised (RFC 8785) and redacted (market.redaction) before anything is
stored; the redacted canonical bytes go to the archive (once per CID, encrypted, the session's owner
may get them), and one audit event per hook, on the object ("session", sessionId), keeps only the
hash and CID of those bytes and minimal metadata: the hook, its time, the tool's name, the byte size,
how many secrets were taken out, and the cost the agent reported. The audit events are sealed into
checkpoints and anchored like every other, so web3.audit.query {sessionId} gives each its proof.

Limits: WEB3_HOOKS_MAX_BATCH events per call, WEB3_HOOKS_MAX_PAYLOAD_BYTES canonical bytes per
redacted payload (E_INVALID_ARGUMENT naming events.payload, the message the event), WEB3_HOOKS_MAX_EVENTS_PER_SESSION
events per session and the owner's archive quota (E_QUOTA_EXCEEDED). A batch is taken whole or not
at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from market.audit.log import audit_record_many
from market.errors import InvalidArgument, QuotaExceeded
from market.models import ArchiveGrant, ArchiveObject
from market.money import format_amount
from market.redaction import REDACTED, redact_json, redact_text
from market.selectors.trail import HOOK_ACTION_PREFIX, SESSION_OBJECT, TrailSession
from market.services import archive

HOOKS = ("llm_input", "llm_output", "before_tool_call", "after_tool_call", "session_end")
MEDIA_TYPE = "application/json"
PAYLOAD = "events.payload"  # the param a refusal names (its message says which event)


@dataclass(frozen=True)
class HookEvent:
    """One event as the method passes it: `cost` is (minor units, currency) or None."""

    hook: str
    at: datetime
    payload: Any
    tool: str | None = None
    cost: tuple[int, str] | None = None


@dataclass(frozen=True)
class Ingested:
    hash: str  # "sha256:" + hex sha256 of the redacted canonical payload
    cid: str
    event_id: str
    content_hash: str  # the audit leaf's content hash, known at once
    seq: int | None  # its position: None until the sequencer has run (right after the commit)
    redactions: int


def _tool_name(tool: str | None) -> str | None:
    if tool is None:
        return None
    return tool if redact_text(tool) == tool else REDACTED


def hooks_ingest(*, session: TrailSession, actor_id: str, events: list[HookEvent]) -> list[Ingested]:
    """Redact, archive and audit a batch of hook events of `session` (whose owner is the caller).
    The archive's bytes are written before the transaction (I/O); the rows and audit events in one."""
    if not 1 <= len(events) <= settings.WEB3_HOOKS_MAX_BATCH:
        raise InvalidArgument.field("events", f"1 to {settings.WEB3_HOOKS_MAX_BATCH} events per call")
    cap = settings.WEB3_HOOKS_MAX_EVENTS_PER_SESSION
    if session.events + len(events) > cap:
        raise QuotaExceeded(
            f"a session's trail holds at most {cap} events",
            details={"quota": cap, "used": session.events, "needed": len(events)},
        )
    redacted = []
    for i, event in enumerate(events):
        try:
            out = redact_json(event.payload, field=PAYLOAD)
        except InvalidArgument:
            raise InvalidArgument.field(PAYLOAD, f"event {i}: not representable as RFC 8785 canonical JSON") from None
        if len(out.content) > settings.WEB3_HOOKS_MAX_PAYLOAD_BYTES:
            raise InvalidArgument.field(
                PAYLOAD, f"event {i}: at most {settings.WEB3_HOOKS_MAX_PAYLOAD_BYTES} bytes as canonical JSON"
            )
        redacted.append(out)
    owner = session.owner_actor_id
    new = {archive.cid_of(r.content): len(r.content) for r in redacted}
    held = set(
        ArchiveObject.objects.filter(
            cid__in=new, grants__actor_id=owner, grants__reason__in=ArchiveGrant.UPLOADS
        ).values_list("cid", flat=True)
    )
    archive.archive_check_quota(actor_id=owner, new=sum(n for cid, n in new.items() if cid not in held), field="events")
    blobs = [archive.blob_prepare(data=r.content, media_type=MEDIA_TYPE, field=PAYLOAD) for r in redacted]
    records = []
    for event, out, blob in zip(events, redacted, blobs, strict=True):
        payload: dict[str, Any] = {
            "hook": event.hook,
            "at": event.at.isoformat().replace("+00:00", "Z"),
            "bytes": blob.size,
            "redactions": out.count,
            "contentSha256": blob.sha256,
            "cid": blob.cid,
        }
        tool = _tool_name(event.tool)
        if tool is not None:
            payload["tool"] = tool
        if event.cost is not None:
            payload["cost"] = {"amount": format_amount(event.cost[0], event.cost[1]), "currency": event.cost[1]}
        records.append(
            {
                "actor_id": actor_id,
                "action": HOOK_ACTION_PREFIX + event.hook,
                "object_type": SESSION_OBJECT,
                "object_id": session.session_id,
                "payload": payload,
                "parties": [owner],
            }
        )
    with transaction.atomic():
        archive.blobs_record(actor_id=owner, blobs=blobs, reason=ArchiveGrant.Reason.HOOK)
        audited = audit_record_many(records)
    return [
        Ingested(
            hash="sha256:" + b.sha256,
            cid=b.cid,
            event_id=e.event_id,
            content_hash=e.content_hash,
            seq=e.seq,
            redactions=r.count,
        )
        for b, e, r in zip(blobs, audited, redacted, strict=True)
    ]
