"""Invocations inside a session: the market issues (or reuses) the session's lease for the resource,
reserves the call's most possible cost against the session's budget and the delegation's caps, calls
the provider with no transaction open (market.services.invoke), then accrues the actual cost as a
debit note on the provider's line. Lines are released in batches (market.services.sessions).

Caps hold under concurrency: the session row and the delegation's spend counters are locked while
a call is reserved, and what running calls hold counts against every cap until they finish.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q, Sum
from django.utils import timezone

from market import locks, sql, states, tx
from market.audit.log import audit_leaf
from market.errors import Conflict, Expired, Forbidden, InsufficientFunds, NotFound, QuotaExceeded, Timeout
from market.ids import new_id
from market.models import Account, DebitNote, Invocation, Lease, Resource, Session, SessionLine, SpendCounter
from market.models.resources import PER_MILLION_UNITS
from market.money import cost_minor, format_amount
from market.services import invoke as proxy
from market.services.backends import plan_for
from market.services.leases import lease_hash, units_paid_by
from market.services.policies import cap_minor, provider_allowed
from market.services.sessions import lock_own_session, quota_refusal, release_lines
from market.services.standing import standing_record_call

INV = Invocation.Status
S = Session.Status


def require_open(session: Session, now) -> None:
    if session.status == S.PENDING_APPROVAL:
        raise Conflict("the session waits for its owner's approval", details={"status": session.status})
    if session.status != S.OPEN:
        raise Conflict(f"the session is {session.status}", details={"status": session.status})
    if session.expires_at <= now:
        raise Expired("the session has expired", details={"expiresAt": session.expires_at.isoformat()})


def _counters(session: Session, provider: str, now, *, create: bool) -> dict[str, SpendCounter]:
    """The delegation's counters of today (all providers '' and this one), locked."""
    if not session.delegation_id:
        return {}
    key = {"delegation_id": session.delegation_id, "currency": session.currency, "day": now.date()}
    found = locks.lock_spend_counters_of(**key, provider_actor_id__in=["", provider])
    if create and len(found) < 2:  # the day's first call (to this provider): open them, then lock again
        for who in ("", provider):
            SpendCounter.objects.get_or_create(**key, provider_actor_id=who)
        found = locks.lock_spend_counters_of(**key, provider_actor_id__in=["", provider])
    return {c.provider_actor_id or "*": c for c in found}


def _held(session: Session, provider: str, now, *, delegation: bool) -> dict[str, int]:
    """What running calls still reserve on the session's leases ("session") and, for a delegation,
    on the leases of all its sessions in the currency ("*") and of those with this provider: one
    query."""
    live = Invocation.objects.filter(status=INV.PENDING, started_at__gt=now - proxy.reservation_ttl())
    if not delegation:
        sums = live.filter(lease__session=session).aggregate(session=Sum("reserved"))
    else:
        sums = live.filter(
            lease__session__delegation_id=session.delegation_id, lease__session__currency=session.currency
        ).aggregate(
            session=Sum("reserved", filter=Q(lease__session=session)),
            all=Sum("reserved"),
            provider=Sum("reserved", filter=Q(lease__provider_actor_id=provider)),
        )
    return {"*" if k == "all" else provider if k == "provider" else k: v or 0 for k, v in sums.items()}


def _check_caps(session: Session, provider: str, reserve: int, counters, now) -> None:
    held = _held(session, provider, now, delegation=bool(counters))
    held_session = held["session"]
    if reserve > session.budget - session.accrued - held_session:
        if session.mode == Session.Mode.TRUSTED:
            raise quota_refusal("sessionCap", session.budget, session.currency, "the call would pass the session cap")
        raise InsufficientFunds(
            "the session's remaining budget cannot cover this call",
            details={
                "remaining": format_amount(session.budget - session.accrued - held_session, session.currency),
                "required": format_amount(reserve, session.currency),
            },
        )
    if session.mode == Session.Mode.TRUSTED:
        account = Account.objects.filter(
            actor_id=session.owner_actor_id, currency=session.currency, kind="actor"
        ).first()
        owed = session.accrued - session.released + held_session + reserve
        if account is None or account.available < owed:
            raise InsufficientFunds("the owner's free balance cannot cover what the session owes")
    if not counters:
        return
    for cap, key in (("dailyCap", "*"), ("counterpartyDailyCap", provider)):
        limit = cap_minor(session.policy, cap, session.currency)
        if limit is not None and counters[key].amount + held[key] + reserve > limit:
            raise quota_refusal(cap, limit, session.currency, f"the call would pass the {cap}")


def _rate_check(session: Session, now) -> None:
    per_minute = (session.policy or {}).get("callsPerMinute")
    if (
        per_minute
        and Invocation.objects.filter(lease__session=session, started_at__gt=now - timedelta(seconds=60)).count()
        >= per_minute
    ):
        raise QuotaExceeded(
            "the policy's callsPerMinute is reached", details={"cap": "callsPerMinute", "retryAfterSec": 60}
        )


def session_lease(session: Session, resource: Resource, now) -> Lease:
    """The session's active lease for the resource, issued on first use (the session locked by the
    caller): it holds no settlement and draws on the session's budget."""
    lease = locks.lock_lease(session=session, resource=resource, status=Lease.Status.ACTIVE)
    return lease if lease is not None else _issue_lease(session, resource, now)


def _issue_lease(session: Session, resource: Resource, now) -> Lease:
    """A new session lease for the resource (the session locked, none active for it)."""
    lease = Lease(
        lease_id=new_id("lease"),
        resource=resource,
        session=session,
        consumer_actor_id=session.owner_actor_id,
        provider_actor_id=resource.provider_actor_id,
        unit=resource.unit,
        unit_price=resource.unit_price,
        currency=resource.currency,
        policy=resource.policy,
        max_cost=session.budget,
        ttl_sec=max(1, int((session.expires_at - now).total_seconds())),
        expires_at=session.expires_at,
    )
    lease.hash = lease_hash(lease)
    leaf = audit_leaf(
        actor_id=session.owner_actor_id,
        action="lease.issue",
        object_type="lease",
        object_id=lease.lease_id,
        payload={"resourceId": resource.resource_id, "sessionId": session.session_id, "status": lease.status},
        parties=[session.owner_actor_id, lease.provider_actor_id],
    )
    return sql.insert_with(lease, leaf)  # with its leaf: one statement on PostgreSQL


def session_reserve(*, session_id: str, resource_id: str, actor_id: str, delegation_id: str, input: dict[str, Any]):
    with tx.atomic():
        session = lock_own_session(session_id, actor_id=actor_id, delegation_id=delegation_id)
        now = timezone.now()
        require_open(session, now)
        resource = Resource.objects.filter(resource_id=resource_id).first()
        if resource is None:
            raise NotFound("no such resource")
        if resource.status != Resource.Status.PUBLISHED:
            raise Conflict("the resource is unpublished: it takes no new leases", details={"status": resource.status})
        provider = resource.provider_actor_id
        if provider == session.owner_actor_id:
            raise Forbidden("a provider cannot lease its own resource")
        if resource.currency != session.currency:
            raise Conflict("the resource is priced in another currency than the session's")
        if not provider_allowed(session.policy, provider, trusted=session.mode == Session.Mode.TRUSTED):
            raise Forbidden("the spend policy does not allow this provider", details={"reason": "provider_not_allowed"})
        _rate_check(session, now)
        counters = _counters(session, provider, now, create=True)
        existing = locks.lock_lease(session=session, resource=resource, status=Lease.Status.ACTIVE)
        priced = existing or resource
        per = 1_000_000 if priced.unit in PER_MILLION_UNITS else 1
        plan = plan_for(resource, (existing.policy if existing else resource.policy) or {}, input)
        reserve = cost_minor(plan.max_units, priced.unit_price, per)
        _check_caps(session, provider, reserve, counters, now)
        lease = existing or _issue_lease(session, resource, now)
        inv = proxy.invocation_start(
            lease=lease,
            resource=resource,
            plan=plan,
            reserve=reserve,
            actor_id=actor_id,
            now=now,
            session_id=session.session_id,
        )
        return inv, plan


def _due_for_release(session: Session, now) -> bool:
    if session.last_release_at and now - session.last_release_at >= timedelta(seconds=settings.WEB3_SESSION_BATCH_SEC):
        return True
    since = DebitNote.objects.filter(session=session)
    if session.last_release_at:
        since = since.filter(created_at__gt=session.last_release_at)
    return (since.aggregate(units=Sum("units"))["units"] or 0) >= settings.WEB3_SESSION_BATCH_UNITS


def _line_accrue(session: Session, provider: str, units: int, amount: int, now) -> sql.Statement:
    """The provider's line of the session, opened on its first call, with `units` and `amount` more."""
    return (
        "INSERT INTO market_sessionline (session_id, provider_actor_id, units, accrued, released, updated_at) "
        "VALUES (%s, %s, %s, %s, 0, %s) ON CONFLICT (session_id, provider_actor_id) DO UPDATE SET "
        "units = market_sessionline.units + excluded.units, accrued = market_sessionline.accrued + excluded.accrued, "
        "updated_at = excluded.updated_at",
        [
            session.pk,
            provider,
            units,
            amount,
            SessionLine._meta.get_field("updated_at").get_db_prep_save(now, connection),
        ],
    )


def session_accrue(*, invocation_id: str, units: int | None):
    """Accrue the call's cost (billed as market.services.invoke bills it) as a debit note; release
    the lines when a batch is due. Returns (lease, billed, cost, refusal). A unit (market.tx): the
    releases inside take no savepoint."""
    with tx.unit():
        session = locks.lock_session_of_call(invocation_id)
        if session is None:
            raise Invocation.DoesNotExist(invocation_id)
        now = timezone.now()
        counters = _counters(session, session.call_provider, now, create=True)
        inv = locks.lock_invocation_lease(invocation_id)
        lease = inv.lease
        lease.session = session
        if inv.status != INV.PENDING:
            return lease, 0, 0, Timeout("the call outlived its reservation; nothing was charged")
        if lease.status != Lease.Status.ACTIVE or session.status != S.OPEN:
            inv.error_code, inv.finished_at = "E_EXPIRED", now
            states.transition(inv, "fail", update_fields=["error_code", "finished_at"])
            standing_record_call(
                resource_pk=inv.resource_id, provider_actor_id=lease.provider_actor_id, error_code="E_EXPIRED"
            )
            return lease, 0, 0, Expired("the session ended while the call ran; nothing was charged")
        billed = inv.reserved_units if units is None else min(units, inv.reserved_units)
        cost = min(cost_minor(billed, lease.unit_price, lease.per_units), inv.reserved, session.remaining)
        billed = min(billed, units_paid_by(cost, lease)) if lease.unit_price else billed
        note = DebitNote(
            note_id=new_id("dn"),
            session=session,
            lease=lease,
            provider_actor_id=lease.provider_actor_id,
            usage_ref=inv.invocation_id,
            units=billed,
            reported_units=units,
            amount=cost,
        )
        session.accrued += cost
        lease.spent += cost
        for counter in counters.values():
            counter.amount += cost
        inv.units, inv.reported_units, inv.cost, inv.finished_at = billed, units, cost, now
        states.transition(inv, "succeed", save=False)
        leaf = audit_leaf(
            actor_id=session.owner_actor_id,
            action="session.usage",
            object_type="session",
            object_id=session.session_id,
            payload={
                "noteId": note.note_id,
                "leaseId": lease.lease_id,
                "provider": lease.provider_actor_id,
                "units": billed,
                "reportedUnits": units,
                "amount": format_amount(cost, session.currency),
                "accrued": format_amount(session.accrued, session.currency),
            },
            parties=[session.owner_actor_id, lease.provider_actor_id],
        )
        # The note, its line's, the session's, the lease's, the counters' and the call's new figures
        # and the leaf: one statement on PostgreSQL.
        sql.insert_with(
            note,
            _line_accrue(session, lease.provider_actor_id, billed, cost, now),
            sql.update_statement(session, ["accrued", "updated_at"]),
            sql.update_statement(lease, ["spent", "updated_at"]),
            *(sql.update_statement(counter, ["amount"]) for counter in counters.values()),
            sql.update_statement(inv, ["status", "units", "reported_units", "cost", "finished_at"]),
            leaf,
        )
        standing_record_call(resource_pk=inv.resource_id, provider_actor_id=lease.provider_actor_id)
        if _due_for_release(session, now):
            release_lines(session, by_actor_id=session.owner_actor_id, reason="batch")
        return lease, billed, cost, None


def session_invoke(*, session_id: str, resource_id: str, actor_id: str, delegation_id: str, input: dict[str, Any]):
    """The whole call, with no transaction open (the gateway runs invoke outside one)."""
    inv, plan = session_reserve(
        session_id=session_id, resource_id=resource_id, actor_id=actor_id, delegation_id=delegation_id, input=input
    )
    output, units = proxy.call_or_fail(inv, plan)
    lease, billed, cost, refusal = session_accrue(invocation_id=inv.invocation_id, units=units)
    if refusal is not None:
        raise refusal
    return proxy.InvokeResult(output=output, units=billed, cost=cost, lease=lease, reported_units=units)
