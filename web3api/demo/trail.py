"""Demo step for the archive and the hook trail: the bidder's delivered artifact and dispute evidence
as archive objects, and a consumer agent's session with a hook trail (redacted, archived, audited),
so the console and web3.audit.query {sessionId} show them. Idempotent: content-addressed objects are
put once, and the trail is added only while the consumer has none."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from market.ids import new_id
from market.models import AuditEvent, Dispute, DisputeEvidence
from market.money import currencies
from market.selectors import trail as trail_selectors
from market.services import archive, disputes
from market.services import trail as trail_services

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
    if AuditEvent.objects.filter(actor_id=consumer, object_type="session", action__startswith="hook.").exists():
        out("the consumer's session has its hook trail")
        return
    session = trail_selectors.trail_session(session_id=new_id("ses"), actor_id=consumer, opening=True)
    start = datetime.now(UTC) - timedelta(minutes=5)
    currency, scale = next(iter(currencies().items()))
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
    trail_services.hooks_ingest(session=session, actor_id=consumer, events=events)
    out(f"session {session.session_id}: a hook trail of {len(events)} events (redacted, archived, audited)")
