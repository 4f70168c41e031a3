"""Reads of a session's hook trail: whose session it is, and its events with their proofs.

The trail of a session is the audit events of the object ("session", sessionId) whose action is
`hook.<hook>`: each keeps the hash of the redacted content and its CID in the archive, never the
content itself.

Which session a sessionId names and whose it is comes from `trail_session`, the one place that reads
it. Until the market keeps sessions as their own rows, a session is known by its trail: the actor
that ingested its first event owns it, an id no event has yet is the caller's to open (sessionIds
are ids the market issues, `ses_...`), and anyone else gets E_NOT_FOUND.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from market.errors import NotFound
from market.models import AuditEvent
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


def trail_owner(session_id: str) -> str | None:
    """Who ingested the session's first hook event (None: none yet)."""
    return _hook_events(session_id).order_by("seq").values_list("actor_id", flat=True).first()


def trail_session(*, session_id: str, actor_id: str, is_staff: bool = False, opening: bool = False) -> TrailSession:
    """The session `session_id` as the caller may use it: its owner must be the caller (or the
    caller staff, to read). `opening`: an ingest, which may open the trail of a session that has
    none yet. E_NOT_FOUND otherwise."""
    first = trail_owner(session_id)
    if first is None:
        if opening:
            return TrailSession(session_id=session_id, owner_actor_id=actor_id, events=0)
        raise NotFound("no such session")
    if first != actor_id and not (is_staff and not opening):
        raise NotFound("no such session")
    return TrailSession(session_id=session_id, owner_actor_id=first, events=_hook_events(session_id).count())


def session_trail(*, session_id: str, actor_id: str, is_staff: bool = False) -> QuerySet[AuditEvent]:
    """The session's hook events, if the session is the caller's (or the caller staff), for
    market.selectors.audit.audit_events to filter and show."""
    trail_session(session_id=session_id, actor_id=actor_id, is_staff=is_staff)
    return _hook_events(session_id)


def with_proofs(events: list[AuditEvent], *, actor_id: str, is_staff: bool = False) -> list[AuditEvent]:
    """Each event with `proof`: its inclusion proof in its sealing checkpoint, or None while unsealed."""
    for event in events:
        event.proof = (
            audit_proof(event_id=event.event_id, actor_id=actor_id, is_staff=is_staff) if event.sealed else None
        )
    return events
