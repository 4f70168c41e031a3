"""Brain reads: the model resources an agent may think with, how each fares now, and the choice a
session keeps.

Allowed as a brain: a published model resource whose id or provider is on the market's
WEB3_BRAIN_ALLOWLIST or on the owner's own list (`brainAllow` of the spend policy: the agent
token's, kept on each session it opens; an owner calling with its wallet has the market's list
only). In a session it must also be payable by it: priced in the session's currency, not the
owner's own, and let through by the policy's providerDeny/providerAllow.

health: the index's (market.selectors.index: healthy, degraded, stale), or `failing` while the
resource's newest call through the market failed with a provider fault (E_UNAVAILABLE, E_TIMEOUT)
less than WEB3_BRAIN_COOLDOWN_SEC ago. Usable: healthy or stale (an entry not re-signed lately does
not make a provider stop answering), and in a session affordable: the guard (guard_check) lets one
call of `callCost` run now.

callCost: what one brain call reserves for a short prompt: (maxTokens of the resource's policy,
else 4096) + PROMPT_TOKENS tokens at the resource's token price; one unit otherwise.

score (0-100, higher is better), among the usable candidates:
    40 x success rate of its calls in the last hour (1 with none)
  + 30 x its provider's reputation / 100
  + 20 x the cheapest callCost among them / its callCost (1 when both are free)
  + 10 x the fastest median latency among them / its median latency (1 with no calls)
  - 20 when its index entry is stale
rounded; ties go to the cheaper call, then the older resource. Not usable: score 0, listed last.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from market.models import Invocation, Resource, Session, SessionBrain
from market.models.resources import PER_MILLION_UNITS
from market.money import cost_minor
from market.selectors.index import HEALTH_WINDOW, PROVIDER_FAULTS, index_entries, index_resources
from market.selectors.sessions import guard_check, open_session
from market.services.backends import DEFAULT_MAX_TOKENS
from market.services.policies import provider_allowed

PROMPT_TOKENS = 256
LATENCY_SAMPLE = 20
USABLE_HEALTH = ("healthy", "stale")
FINISHED = (Invocation.Status.SUCCEEDED, Invocation.Status.FAILED)


@dataclass(frozen=True)
class BrainCandidate:
    resource: Resource
    allowed_by: str  # market | owner
    health: str  # healthy | degraded | stale | failing
    reputation: int
    recent_calls: int
    recent_failures: int
    latency_ms: int | None
    call_cost: int
    affordable: bool | None  # None outside a session
    refusal: str  # the guard's reason when not affordable
    score: int = 0

    @property
    def usable(self) -> bool:
        return self.health in USABLE_HEALTH and self.affordable is not False


def allowlists(policy: dict[str, Any] | None) -> tuple[set[str], set[str]]:
    """(the market's, the owner's) brain allowlists: resource or provider ids."""
    return set(settings.WEB3_BRAIN_ALLOWLIST), set((policy or {}).get("brainAllow") or ())


def call_cost(resource: Resource) -> int:
    if resource.unit == Resource.Unit.TOKEN:
        units = ((resource.policy or {}).get("maxTokens") or DEFAULT_MAX_TOKENS) + PROMPT_TOKENS
    else:
        units = 1
    return cost_minor(units, resource.unit_price, 1_000_000 if resource.unit in PER_MILLION_UNITS else 1)


def _recent(resource: Resource, now) -> tuple[bool, int | None]:
    """(failing, median latency in ms of its recent successful calls)."""
    rows = list(
        Invocation.objects.filter(resource=resource, status__in=FINISHED, finished_at__gte=now - HEALTH_WINDOW)
        .order_by("-finished_at")
        .values_list("status", "error_code", "started_at", "finished_at")[:LATENCY_SAMPLE]
    )
    cooldown = timedelta(seconds=settings.WEB3_BRAIN_COOLDOWN_SEC)
    failing = bool(rows) and rows[0][0] == Invocation.Status.FAILED and rows[0][1] in PROVIDER_FAULTS
    failing = failing and now - rows[0][3] < cooldown
    took = [(f - s).total_seconds() * 1000 for st, _, s, f in rows if st == Invocation.Status.SUCCEEDED]
    return failing, round(statistics.median(took)) if took else None


def _allowed(policy, session: Session | None, actor_id: str):
    market, owner = allowlists(policy)
    ids = market | owner
    if not ids:
        return []
    qs = index_resources({"kind": Resource.Kind.MODEL}).filter(Q(resource_id__in=ids) | Q(provider_actor_id__in=ids))
    qs = qs.exclude(provider_actor_id=actor_id).order_by("pk")
    out = []
    for r in qs:
        if session is not None and (
            r.currency != session.currency
            or not provider_allowed(session.policy, r.provider_actor_id, trusted=session.mode == Session.Mode.TRUSTED)
        ):
            continue
        out.append((r, "market" if {r.resource_id, r.provider_actor_id} & market else "owner"))
    return out


def brain_candidates(
    *, actor_id: str, session: Session | None = None, policy: dict[str, Any] | None = None
) -> list[BrainCandidate]:
    """The allowed brains, best first. With a session, its policy's list and its affordability;
    without, `policy` (the calling agent token's) gives the owner's list."""
    if session is not None:
        policy = session.policy
    allowed = _allowed(policy, session, actor_id)
    now = timezone.now()
    entries = {e.resource.pk: e for e in index_entries([r for r, _ in allowed], now)}
    rows = []
    for r, by in allowed:
        entry = entries[r.pk]
        failing, latency = _recent(r, now)
        cost = call_cost(r)
        affordable, refusal = None, ""
        if session is not None:
            verdict = guard_check(
                session_id=session.session_id,
                actor_id=session.owner_actor_id,
                delegation_id=session.delegation_id,
                resource_id=r.resource_id,
                estimated_cost=lambda _c, cost=cost: cost,
            )
            affordable, refusal = verdict.allow, "" if verdict.allow else verdict.reason
        rows.append(
            BrainCandidate(
                resource=r,
                allowed_by=by,
                health="failing" if failing else entry.health,
                reputation=entry.reputation,
                recent_calls=r.recent_calls,
                recent_failures=r.recent_failures,
                latency_ms=latency,
                call_cost=cost,
                affordable=affordable,
                refusal=refusal,
            )
        )
    return _ranked(rows)


def _ranked(rows: list[BrainCandidate]) -> list[BrainCandidate]:
    usable = [c for c in rows if c.usable]
    cheapest = min((c.call_cost for c in usable), default=0)
    fastest = min((c.latency_ms for c in usable if c.latency_ms), default=None)

    def score(c: BrainCandidate) -> int:
        success = 1 - c.recent_failures / c.recent_calls if c.recent_calls else 1.0
        cheap = 1.0 if c.call_cost == 0 else cheapest / c.call_cost
        fast = 1.0 if not (fastest and c.latency_ms) else fastest / c.latency_ms
        value = 40 * success + 30 * c.reputation / 100 + 20 * cheap + 10 * fast - (20 if c.health == "stale" else 0)
        return max(0, round(value))

    scored = [replace(c, score=score(c)) if c.usable else c for c in rows]
    return sorted(scored, key=lambda c: (not c.usable, -c.score, c.call_cost, c.resource.pk))


def session_brain(session: Session) -> SessionBrain | None:
    return SessionBrain.objects.select_related("resource", "lease", "session").filter(session=session).first()


def open_session_brain(*, actor_id: str, delegation_id: str = "") -> SessionBrain | None:
    """The current brain of the caller's newest open session (None: no open session, or one that has
    not resolved a brain)."""
    session = open_session(actor_id=actor_id, delegation_id=delegation_id)
    return session_brain(session) if session is not None else None


def brain_sources() -> dict[str, int]:
    """Open sessions by the source of their brain."""
    open_ = SessionBrain.objects.filter(session__status=Session.Status.OPEN, session__expires_at__gt=timezone.now())
    return {s: open_.filter(source=s).count() for s in SessionBrain.Source.values}


def market_brains() -> tuple[int, int]:
    """(brains on the market's allowlist, how many of them are usable now)."""
    allowed = brain_candidates(actor_id="system")
    return len(allowed), sum(1 for c in allowed if c.usable)
