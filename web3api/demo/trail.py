"""Demo step for the archive and the hook trail: the bidder's dispute evidence as an archive object,
and a hook trail (redacted, archived, audited) on the demo's newest session (or, with none, on a
small settled session of the consumer's), so the console and web3.audit.query {sessionId} show them.
Idempotent: content-addressed objects are put once, and a trail is added only to a session without
one."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from market.models import AuditEvent, Dispute, DisputeEvidence, Session
from market.money import currencies
from market.selectors import trail as trail_selectors
from market.services import archive, disputes, sessions
from market.services import trail as trail_services

LABEL = "demo: hook trail"
EVIDENCE = b"# Test run\n\n42 cases, 42 passed: every case in the brief is covered.\n"


def step_trail(wallets, out: Callable[[str], None]) -> None:
    bidder, consumer = wallets["bidder"].address, wallets["consumer"].address
    evidence = archive.archive_put(actor_id=bidder, data=EVIDENCE, media_type="text/markdown")
    out(f"archive object {evidence.cid} ({evidence.size} bytes, encrypted at rest)")
    dispute = Dispute.objects.filter(deliverer_actor_id=bidder, status__in=Dispute.LIVE).order_by("pk").first()
    if dispute and not DisputeEvidence.objects.filter(dispute=dispute, cid=evidence.cid).exists():
        disputes.evidence_submit(
            dispute_id=dispute.dispute_id,
            actor_id=bidder,
            kind="log",
            cid=evidence.cid,
            sha256=hashlib.sha256(EVIDENCE).hexdigest(),
        )
        out(f"dispute {dispute.dispute_id}: evidence {evidence.cid} from the archive")
    session = _demo_session(consumer, out)
    if AuditEvent.objects.filter(
        object_type="session", object_id=session.session_id, action__startswith="hook."
    ).exists():
        out(f"session {session.session_id} has its hook trail")
        return
    trail = trail_selectors.trail_session(session_id=session.session_id, actor_id=session.owner_actor_id, writing=True)
    start = datetime.now(UTC) - timedelta(minutes=5)
    currency, scale = next(iter(currencies().items()))  # the cost the agent reports
    cost = 10 ** max(scale - 3, 0)  # 0.001, or one minor unit

    def at(sec: int) -> datetime:
        return start + timedelta(seconds=sec)

    events = [
        trail_services.HookEvent(
            "llm_input",
            at(0),
            {"model": "demo-model", "messages": [{"role": "user", "content": "What is the weather in Lisbon?"}]},
        ),
        trail_services.HookEvent(
            "before_tool_call", at(1), {"args": {"q": "Lisbon weather"}, "headers": {"Authorization": "demo"}}, "search"
        ),
        trail_services.HookEvent("after_tool_call", at(3), {"result": "18 C, sunny"}, "search", (cost, currency)),
        trail_services.HookEvent("llm_output", at(4), {"content": "It is 18 C and sunny in Lisbon."}),
        trail_services.HookEvent("session_end", at(5), {"reason": "answered"}),
    ]
    trail_services.hooks_ingest(session=trail, actor_id=session.owner_actor_id, events=events)
    out(f"session {session.session_id}: a hook trail of {len(events)} events (redacted, archived, audited)")


def _demo_session(consumer: str, out: Callable[[str], None]) -> Session:
    """The demo's newest session; or, if the demo has none, a small one of the consumer's, settled at
    once so that nothing stays locked."""
    session = Session.objects.order_by("-pk").first()
    if session is not None:
        return session
    currency = next(iter(currencies()))
    session = sessions.session_open(
        opener=sessions.Opener(owner_actor_id=consumer),
        budget=10 ** currencies()[currency],
        currency=currency,
        ttl_sec=3600,
        label=LABEL,
    )
    sessions.session_settle(session_id=session.session_id, actor_id=consumer)
    out(f"session {session.session_id} opened and settled for the hook trail")
    return session
