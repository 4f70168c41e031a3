"""Reads of sessions: one session, the caller's list, the open one, and the guard's answer.

The guard (`guard_check`) answers whether a call may run from what it can read, without a write:
the session row, the resource, the delegation's counters of today and the owner's balance. It is
advice given before the call; the invoke that follows checks the same rules again under the locks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from market.errors import NotFound
from market.models import Account, Invocation, Resource, Session, SpendCounter
from market.models.resources import PER_MILLION_UNITS
from market.money import cost_minor, parse_amount
from market.services.policies import cap_minor, provider_allowed

S = Session.Status


def sessions_visible(*, actor_id: str, delegation_id: str = "") -> QuerySet[Session]:
    """The owner's sessions; an agent sees only those of its delegation."""
    qs = Session.objects.filter(owner_actor_id=actor_id).select_related("settlement")
    if delegation_id:
        qs = qs.filter(delegation_id=delegation_id)
    return qs


def session_get(*, session_id: str, actor_id: str, delegation_id: str = "") -> Session:
    session = sessions_visible(actor_id=actor_id, delegation_id=delegation_id).filter(session_id=session_id).first()
    if session is None:
        raise NotFound("no such session")
    return session


def session_list(*, actor_id: str, delegation_id: str = "", status: str | None = None) -> QuerySet[Session]:
    qs = sessions_visible(actor_id=actor_id, delegation_id=delegation_id)
    return qs.filter(status=status) if status else qs


def open_session(*, actor_id: str, delegation_id: str = "") -> Session | None:
    """The caller's newest open session, if any."""
    return (
        sessions_visible(actor_id=actor_id, delegation_id=delegation_id)
        .filter(status=S.OPEN, expires_at__gt=timezone.now())
        .order_by("-pk")
        .first()
    )


def session_lines(session: Session) -> list[dict[str, Any]]:
    return [
        {"provider_actor_id": p, "units": u, "accrued": a, "released": r, "currency": session.currency}
        for p, u, a, r in session.lines.order_by("pk").values_list("provider_actor_id", "units", "accrued", "released")
    ]


@dataclass(frozen=True)
class Verdict:
    allow: bool
    reason: str
    remaining: int | None
    currency: str | None
    retry_after_sec: int | None = None


def _estimate(resource: Resource | None, estimated_cost: int | None) -> int:
    if estimated_cost is not None:
        return estimated_cost
    if resource is None:
        return 0
    per = 1_000_000 if resource.unit in PER_MILLION_UNITS else 1
    return cost_minor(1, resource.unit_price, per)  # one unit: the least the call can cost


def guard_check(
    *, session_id: str, actor_id: str, delegation_id: str = "", resource_id: str | None, estimated_cost: str | None
) -> Verdict:
    """May a call costing about `estimated_cost` (a decimal string in the session's currency;
    default: one unit of the resource) run in the session now? Reasons, in the order checked:
    no_session, approval_required, session_expired, provider_not_allowed, rate_limited,
    insufficient_budget / session_cap, daily_cap, counterparty_cap; `ok` when it may."""
    session = sessions_visible(actor_id=actor_id, delegation_id=delegation_id).filter(session_id=session_id).first()
    if session is None:
        return Verdict(False, "no_session", None, None)
    c, now = session.currency, timezone.now()
    remaining = session.budget - session.accrued
    if session.status == S.PENDING_APPROVAL:
        return Verdict(False, "approval_required", 0, c)
    if session.status != S.OPEN or session.expires_at <= now:
        return Verdict(False, "session_expired", 0, c)
    resource = Resource.objects.filter(resource_id=resource_id).first() if resource_id else None
    if resource_id and (resource is None or resource.status != Resource.Status.PUBLISHED):
        return Verdict(False, "provider_not_allowed", remaining, c)
    trusted = session.mode == Session.Mode.TRUSTED
    if resource is not None and not provider_allowed(session.policy, resource.provider_actor_id, trusted=trusted):
        return Verdict(False, "provider_not_allowed", remaining, c)
    per_minute = (session.policy or {}).get("callsPerMinute")
    if per_minute:
        recent = Invocation.objects.filter(lease__session=session, started_at__gt=now - timedelta(seconds=60))
        if recent.count() >= per_minute:
            return Verdict(False, "rate_limited", remaining, c, retry_after_sec=60)
    given = None if estimated_cost is None else parse_amount(estimated_cost, c, field="estimatedCost", allow_zero=True)
    cost = _estimate(resource, given)
    if cost > remaining:
        return Verdict(False, "session_cap" if trusted else "insufficient_budget", remaining, c)
    if trusted:
        account = Account.objects.filter(actor_id=session.owner_actor_id, currency=c, kind="actor").first()
        owed = session.accrued - session.released + cost
        if account is None or account.available < owed:
            return Verdict(False, "insufficient_budget", remaining, c)
    if session.delegation_id:
        spent = dict(
            SpendCounter.objects.filter(
                delegation_id=session.delegation_id,
                currency=c,
                day=now.date(),
                provider_actor_id__in=["", resource.provider_actor_id if resource else ""],
            ).values_list("provider_actor_id", "amount")
        )
        daily = cap_minor(session.policy, "dailyCap", c)
        if daily is not None:
            left = daily - spent.get("", 0)
            if cost > left:
                return Verdict(False, "daily_cap", max(left, 0), c)
            remaining = min(remaining, left)
        party = cap_minor(session.policy, "counterpartyDailyCap", c)
        if party is not None and resource is not None:
            left = party - spent.get(resource.provider_actor_id, 0)
            if cost > left:
                return Verdict(False, "counterparty_cap", max(left, 0), c)
            remaining = min(remaining, left)
    return Verdict(True, "ok", remaining, c)
