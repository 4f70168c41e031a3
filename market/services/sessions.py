"""Sessions: open (prepaid: lock the budget once; trusted: lock nothing), approve or decline one that
waits for its owner, release accrued usage to providers in batches, settle once, and the sweeps.

Lock order (market.locks): the session, its spend counters, its lines, its leases, then the
settlement and accounts inside the ledger calls, the audit head last.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from market import locks, sql, states, tx
from market.audit.log import audit_leaf, audit_record
from market.errors import Conflict, Expired, Forbidden, InvalidArgument, MarketError, NotFound, QuotaExceeded
from market.ids import new_id
from market.models import Invocation, Lease, Session, SessionLine, Settlement
from market.models.sessions import SESSION_ESCROW
from market.money import format_amount
from market.services import escrow, ledger
from market.services.policies import cap_minor, currency_allowed
from market.services.standing import standing_record_calls

log = logging.getLogger("market.sessions")

SYSTEM = "system"
S = Session.Status
M = Session.Mode


@dataclass(frozen=True)
class Opener:
    """Who opens a session: the owner, or an agent token of the owner (with its policy)."""

    owner_actor_id: str
    delegation_id: str = ""
    agent_token_id: str = ""
    agent_label: str = ""
    policy: dict | None = None


def session_payload(session: Session, **extra: Any) -> dict[str, Any]:
    c = session.currency
    return {
        "owner": session.owner_actor_id,
        "mode": session.mode,
        "currency": c,
        "budget": format_amount(session.budget, c),
        "accrued": format_amount(session.accrued, c),
        "released": format_amount(session.released, c),
        "status": session.status,
        "label": session.label,
        "settlementId": session.settlement.settlement_id if session.settlement_id else None,
        **extra,
    }


def quota_refusal(cap: str, limit: int, currency: str, message: str) -> QuotaExceeded:
    return QuotaExceeded(message, details={"cap": cap, "limit": format_amount(limit, currency), "currency": currency})


def _lock(session: Session) -> Settlement:
    return escrow.escrow_lock(
        payer_actor_id=session.owner_actor_id,
        payee_actor_id=SESSION_ESCROW,
        amount=session.budget,
        currency=session.currency,
        by_actor_id=session.owner_actor_id,
        reference=f"session:{session.session_id}",
    )


def session_open(
    *, opener: Opener, budget: int, currency: str, ttl_sec: int, mode: str = M.PREPAID, label: str = ""
) -> Session:
    """Open a session. Over a cap: E_QUOTA_EXCEEDED naming it, nothing locked. A budget above the
    policy's approvalAbove: the session waits for the owner (session_pending_approval), nothing
    locked until it approves."""
    if not 1 <= ttl_sec <= settings.WEB3_SESSION_MAX_TTL_SEC:
        raise InvalidArgument.field("ttlSec", f"must be between 1 and {settings.WEB3_SESSION_MAX_TTL_SEC}")
    if budget <= 0:
        raise InvalidArgument.field("budget", "must be positive")
    policy = opener.policy
    if not currency_allowed(policy, currency):
        raise Forbidden("the spend policy does not allow this currency", details={"currency": currency})
    if mode == M.TRUSTED and not (policy or {}).get("providerAllow"):
        raise Forbidden("a trusted session pays only providers on the policy's providerAllow, which is empty")
    session_cap = cap_minor(policy, "sessionCap", currency)
    if session_cap is not None and budget > session_cap:
        raise quota_refusal("sessionCap", session_cap, currency, "the budget is above the session cap")
    now = timezone.now()
    approval = cap_minor(policy, "approvalAbove", currency) if policy and "approvalAbove" in policy else None
    waits = approval is not None and budget > approval
    with tx.atomic():
        session = Session(
            session_id=new_id("ses"),
            owner_actor_id=opener.owner_actor_id,
            delegation_id=opener.delegation_id,
            agent_token_id=opener.agent_token_id,
            agent_label=opener.agent_label,
            policy=policy,
            label=label,
            mode=mode,
            currency=currency,
            budget=budget,
            ttl_sec=ttl_sec,
            expires_at=now + timedelta(seconds=ttl_sec),
            status=S.PENDING_APPROVAL if waits else S.OPEN,
            approval_expires_at=now + timedelta(seconds=settings.WEB3_SESSION_APPROVAL_TTL_SEC) if waits else None,
            last_release_at=now,
        )
        if mode == M.PREPAID and not waits:
            session.settlement = _lock(session)
        session.save()
        audit_record(
            actor_id=opener.owner_actor_id,
            action="session.open",
            object_type="session",
            object_id=session.session_id,
            payload=session_payload(session, expiresAt=session.expires_at.isoformat()),
        )
        return session


def lock_own_session(session_id: str, *, actor_id: str, delegation_id: str = "") -> Session:
    """The session, locked; E_NOT_FOUND for anyone but its owner (an agent: only its delegation's)."""
    session = locks.lock_session(session_id=session_id)
    if session is None or session.owner_actor_id != actor_id:
        raise NotFound("no such session")
    if delegation_id and session.delegation_id != delegation_id:
        raise NotFound("no such session")
    return session


def session_decide(*, session_id: str, actor_id: str, approve: bool) -> Session:
    """The owner (its wallet, never an agent: the method says so) approves or declines a session
    that waits; approving locks the budget now (prepaid)."""
    with tx.atomic():
        session = lock_own_session(session_id, actor_id=actor_id)
        if session.status != S.PENDING_APPROVAL:
            raise Conflict(f"the session is {session.status}", details={"status": session.status})
        now = timezone.now()
        if session.approval_expires_at <= now:
            raise Expired("the approval window has passed", details={"status": session.status})
        if approve:
            # A limit lowered while the session waited applies to it (market.selectors.limits).
            session_cap = cap_minor(session.policy, "sessionCap", session.currency)
            if session_cap is not None and session.budget > session_cap:
                raise quota_refusal("sessionCap", session_cap, session.currency, "the budget is above the session cap")
            session.expires_at = max(session.expires_at, now + timedelta(seconds=session.ttl_sec))
            if session.mode == M.PREPAID:
                session.settlement = _lock(session)
            states.transition(session, "approve", update_fields=["expires_at", "settlement"])
        else:
            states.transition(session, "decline")
        audit_record(
            actor_id=actor_id,
            action="session.approve" if approve else "session.decline",
            object_type="session",
            object_id=session.session_id,
            payload=session_payload(session),
        )
        return session


def release_lines(session: Session, *, by_actor_id: str, reason: str) -> int:
    """Pay each provider what accrued since the last release (the session and its lines locked
    here, in the caller's transaction). Prepaid: part of the session's lock is posted to the
    session escrow and passed on to the provider; trusted: a transfer from the owner's free balance
    (E_INSUFFICIENT_FUNDS if it is short: nothing moves). Returns the amount released."""
    total, _, updates = _release_lines(session, by_actor_id=by_actor_id, reason=reason)
    # The lines' and the session's new figures: one statement on PostgreSQL.
    sql.run_together(*updates, sql.update_statement(session, ["released", "last_release_at", "updated_at"]))
    return total


def _release_lines(
    session: Session, *, by_actor_id: str, reason: str
) -> tuple[int, list[SessionLine], list[sql.Statement]]:
    """release_lines' money moves: the amount released, the session's lines (locked, as they are now)
    and their UPDATEs, not run; the session's released and last_release_at are set, not saved."""
    total = 0
    lines = locks.lock_session_lines(session)
    updates = []
    for line in lines:
        due = line.accrued - line.released
        if due <= 0:
            continue
        ref = f"session:{session.session_id}"
        if session.mode == M.PREPAID:
            session.settlement = escrow.escrow_release(
                settlement_id=session.settlement.settlement_id,
                by_actor_id=by_actor_id,
                amount=due,
                reason=reason,
                reference=ref,
            )
            payer = SESSION_ESCROW
        else:
            payer = session.owner_actor_id
        ledger.transfer(
            from_actor_id=payer,
            to_actor_id=line.provider_actor_id,
            amount=due,
            currency=session.currency,
            by_actor_id=by_actor_id,
            reason=f"session usage ({reason})",
            reference=ref,
        )
        line.released = line.accrued
        updates.append(sql.update_statement(line, ["released", "updated_at"]))
        total += due
    session.released += total
    session.last_release_at = timezone.now()
    return total, lines, updates


def session_settle(
    *, session_id: str, actor_id: str, delegation_id: str = "", by_actor_id: str | None = None
) -> Session:
    """Release what accrued to each provider and refund the rest, once: a settled session is
    returned as it is. Its leases end with it; calls still running charge nothing."""
    with tx.atomic():
        if by_actor_id == SYSTEM:
            session = locks.lock_session(session_id=session_id)
        else:
            session = lock_own_session(session_id, actor_id=actor_id, delegation_id=delegation_id)
        if session.status == S.SETTLED:
            return session
        if session.status != S.OPEN:
            raise Conflict(f"the session is {session.status}: nothing to settle", details={"status": session.status})
        return _settle(session, by_actor_id=by_actor_id or actor_id)


def _settle(session: Session, *, by_actor_id: str) -> Session:
    now = timezone.now()
    leases = locks.lock_session_leases(session)
    for lease in leases:
        lease.ended_at = now
    if leases:
        states.bulk_transition(Lease.objects.filter(pk__in=[x.pk for x in leases]), "end_with_session", ended_at=now)
        pending = Invocation.objects.filter(lease__in=leases, status=Invocation.Status.PENDING)
        calls = pending.values_list("resource_id", "lease__provider_actor_id")
        failed = [(resource_pk, provider, "E_EXPIRED") for resource_pk, provider in calls]
        if failed:  # the leases are locked: no call starts meanwhile, so with none pending none is failed
            standing_record_calls(failed)
            states.bulk_transition(pending, "fail", error_code="E_EXPIRED", finished_at=now)
    _, lines, updates = _release_lines(session, by_actor_id=by_actor_id, reason="settlement")
    refunding = session.mode == M.PREPAID and session.settlement.is_open
    refunded = session.settlement.remaining if refunding else 0
    session.settled_at = now
    states.transition(session, "settle", save=False)
    leaf = audit_leaf(
        actor_id=by_actor_id,
        action="session.settle",
        object_type="session",
        object_id=session.session_id,
        payload=session_payload(
            session,
            refunded=format_amount(refunded, session.currency),
            lines=[
                {
                    "provider": line.provider_actor_id,
                    "units": line.units,
                    "amount": format_amount(line.accrued, session.currency),
                }
                for line in lines
            ],
        ),
        parties=[session.owner_actor_id],
    )
    # The lines' and the session's new state and its leaf, with the refund where there is one: one
    # statement on PostgreSQL.
    writes = (
        *updates,
        sql.update_statement(session, ["status", "settled_at", "released", "last_release_at", "updated_at"]),
        leaf,
    )
    if refunding:
        session.settlement = escrow.escrow_refund(
            settlement_id=session.settlement.settlement_id,
            by_actor_id=by_actor_id,
            reason="session settled",
            reference=f"session:{session.session_id}",
            also=writes,
        )
    else:
        sql.run_together(*writes)
    session.settled_lines = lines  # market.selectors.sessions.session_lines
    return session


def session_expire_sweep(*, batch_size: int = 200, as_of=None) -> dict[str, int]:
    """Settle every open session past its TTL (its agent vanished), and let approvals that were never
    given lapse. skip_locked: two sweeps share the work. A trusted session whose owner cannot pay
    stays open for the next run."""
    now = as_of or timezone.now()
    settled = failed = 0
    for pk in _expired_pks(now, batch_size):
        try:
            with transaction.atomic():
                session = locks.lock_session_if_free(pk)
                if session is None or session.status != S.OPEN:
                    continue
                _settle(session, by_actor_id=SYSTEM)
                settled += 1
        except MarketError as exc:  # a trusted owner who cannot pay: the session waits for the next run
            log.warning("session %s could not be settled: %s", pk, exc.code)
            failed += 1
    lapsed = states.bulk_transition(
        Session.objects.filter(status=S.PENDING_APPROVAL, approval_expires_at__lte=now), "lapse", updated_at=now
    )
    return {"settled": settled, "lapsed": lapsed, "failed": failed}


def _expired_pks(now, limit: int) -> list[int]:
    return list(
        Session.objects.filter(status=S.OPEN, expires_at__lte=now).order_by("pk").values_list("pk", flat=True)[:limit]
    )
