"""Reads of a session's hook trail: whose session it is, and its events with their proofs.

The trail of a session is the audit events of the object ("session", sessionId) whose action is
`hook.<hook>`: each keeps the hash of the redacted content and its CID in the archive, never the
content itself. The session is a market.models.Session, read here by `trail_session` only: its owner
ingests and reads the trail (an agent token acts as its owner, within its own delegation's
sessions), staff read every trail, and for anyone else the session does not exist (E_NOT_FOUND).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from market.errors import NotFound
from market.models import AuditEvent, Session
from market.selectors.audit import audit_proof

HOOK_ACTION_PREFIX = "hook."
SESSION_OBJECT = "session"


@dataclass(frozen=True)
class TrailSession:
    session_id: str
    owner_actor_id: str
    events: int  # hook events so far


def _hook_events(session_id: str) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        object_type=SESSION_OBJECT, object_id=session_id, action__startswith=HOOK_ACTION_PREFIX
    )


def trail_session(
    *, session_id: str, actor_id: str, delegation_id: str = "", is_staff: bool = False, writing: bool = False
) -> TrailSession:
    """The session `session_id` as the caller may use it: the owner's (an agent's: of its
    delegation), in any status (late hooks of a settled session are kept too); staff may read any
    (`writing` False). E_NOT_FOUND otherwise."""
    qs = Session.objects.filter(session_id=session_id)
    if writing or not is_staff:
        qs = qs.filter(owner_actor_id=actor_id)
        if delegation_id:
            qs = qs.filter(delegation_id=delegation_id)
    owner = qs.values_list("owner_actor_id", flat=True).first()
    if owner is None:
        raise NotFound("no such session")
    return TrailSession(session_id=session_id, owner_actor_id=owner, events=_hook_events(session_id).count())


def session_trail(
    *, session_id: str, actor_id: str, delegation_id: str = "", is_staff: bool = False
) -> QuerySet[AuditEvent]:
    """The session's hook events, if the caller may read the session, for
    market.selectors.audit.audit_events to filter and show."""
    trail_session(session_id=session_id, actor_id=actor_id, delegation_id=delegation_id, is_staff=is_staff)
    return _hook_events(session_id)


def with_proofs(events: list[AuditEvent], *, actor_id: str, is_staff: bool = False) -> list[AuditEvent]:
    """Each event with `proof`: its inclusion proof in its sealing checkpoint, or None while unsealed."""
    for event in events:
        event.proof = (
            audit_proof(event_id=event.event_id, actor_id=actor_id, is_staff=is_staff) if event.sealed else None
        )
    return events
