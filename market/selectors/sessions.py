"""Reads of sessions: one session, the caller's list, the open one, and the guard's answer.

The guard (`guard_check`) answers whether a call may run from what it can read, without a write:
the session row, the resource, the delegation's counters of today and the owner's balance. It is
advice given before the call; the invoke that follows checks the same rules again under the locks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from market import sql
from market.errors import NotFound
from market.models import Account, Invocation, Resource, Session
from market.models.resources import PER_MILLION_UNITS
from market.money import cost_minor
from market.selectors.limits import limit_or_default
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
    """The session's lines, by id; a session just settled carries them as its settlement left them
    (market.services.sessions), and they are not read again."""
    settled = getattr(session, "settled_lines", None)
    rows = (
        [(x.provider_actor_id, x.units, x.accrued, x.released) for x in settled]
        if settled is not None
        else session.lines.order_by("pk").values_list("provider_actor_id", "units", "accrued", "released")
    )
    return [
        {"provider_actor_id": p, "units": u, "accrued": a, "released": r, "currency": session.currency}
        for p, u, a, r in rows
    ]


@dataclass(frozen=True)
class Verdict:
    allow: bool
    reason: str
    remaining: int | None
    currency: str | None
    retry_after_sec: int | None = None


# The guard's one read: the session, today's spend counters of its delegation (all providers, and the
# resource's provider), the resource and the market's daily limit, in one statement (it runs before
# every tool call).
_GUARD_READ = """
SELECT s.status, s.expires_at > %s, s.mode, s.currency, s.budget, s.accrued, s.released, s.policy, s.delegation_id,
       (SELECT c.amount FROM market_spendcounter c WHERE c.delegation_id = s.delegation_id
          AND c.currency = s.currency AND c.day = %s AND c.provider_actor_id = ''),
       (SELECT c.amount FROM market_spendcounter c WHERE c.delegation_id = s.delegation_id
          AND c.currency = s.currency AND c.day = %s AND c.provider_actor_id = r.provider_actor_id),
       r.resource_id, r.status, r.provider_actor_id, r.unit, r.unit_price, s.owner_actor_id,
       (SELECT l.max_daily_cap FROM market_marketlimits l WHERE l.id = 1)
FROM market_session s LEFT JOIN market_resource r ON r.resource_id = %s
WHERE s.session_id = %s AND s.owner_actor_id = %s
"""


def _guard_row(session_id: str, actor_id: str, resource_id: str | None, now):
    rows = sql.execute(
        _GUARD_READ,
        [
            connection.ops.adapt_datetimefield_value(now),
            connection.ops.adapt_datefield_value(now.date()),
            connection.ops.adapt_datefield_value(now.date()),
            resource_id or "",
            session_id,
            actor_id,
        ],
    )
    return rows[0] if rows else None


def guard_check(
    *,
    session_id: str,
    actor_id: str,
    delegation_id: str = "",
    resource_id: str | None,
    estimated_cost: Callable[[str], int] | None,
) -> Verdict:
    """May a call costing about `estimated_cost` (given the session's currency, the caller's estimate
    in its minor units; default: one unit of the resource) run in the session now? Reasons, in the order checked:
    no_session, approval_required, session_expired, provider_not_allowed, rate_limited,
    insufficient_budget / session_cap, daily_cap, counterparty_cap; `ok` when it may."""
    now = timezone.now()
    row = _guard_row(session_id, actor_id, resource_id, now)
    if row is None or (delegation_id and row[8] != delegation_id):
        return Verdict(False, "no_session", None, None)
    status, live, mode, c, budget, accrued, released, policy, delegation, spent_all, spent_party = row[:11]
    r_id, r_status, provider, unit, unit_price = row[11:16]
    limits = {"dailyCap": limit_or_default("dailyCap", row[17])}
    policy = json.loads(policy) if isinstance(policy, str) else policy
    remaining = budget - accrued
    if status == S.PENDING_APPROVAL:
        return Verdict(False, "approval_required", 0, c)
    if status != S.OPEN or not live:
        return Verdict(False, "session_expired", 0, c)
    if resource_id and (r_id is None or r_status != Resource.Status.PUBLISHED):
        return Verdict(False, "provider_not_allowed", remaining, c)
    trusted = mode == Session.Mode.TRUSTED
    if r_id is not None and not provider_allowed(policy, provider, trusted=trusted):
        return Verdict(False, "provider_not_allowed", remaining, c)
    per_minute = (policy or {}).get("callsPerMinute")
    if per_minute:
        recent = Invocation.objects.filter(
            lease__session__session_id=session_id, started_at__gt=now - timedelta(seconds=60)
        )
        if recent.count() >= per_minute:
            return Verdict(False, "rate_limited", remaining, c, retry_after_sec=60)
    given = None if estimated_cost is None else estimated_cost(c)
    if given is not None:
        cost = given
    elif r_id is not None:
        cost = cost_minor(1, unit_price, 1_000_000 if unit in PER_MILLION_UNITS else 1)  # the least a call costs
    else:
        cost = 0
    if cost > remaining:
        return Verdict(False, "session_cap" if trusted else "insufficient_budget", remaining, c)
    if trusted:
        account = Account.objects.filter(actor_id=actor_id, currency=c, kind="actor").first()
        if account is None or account.available < accrued - released + cost:
            return Verdict(False, "insufficient_budget", remaining, c)
    if delegation:
        daily = cap_minor(policy, "dailyCap", c, limits)
        if daily is not None:
            left = daily - (spent_all or 0)
            if cost > left:
                return Verdict(False, "daily_cap", max(left, 0), c)
            remaining = min(remaining, left)
        party = cap_minor(policy, "counterpartyDailyCap", c, limits)
        if party is not None and r_id is not None:
            left = party - (spent_party or 0)
            if cost > left:
                return Verdict(False, "counterparty_cap", max(left, 0), c)
            remaining = min(remaining, left)
    return Verdict(True, "ok", remaining, c)
