"""Brain resolution: which model a session's agent thinks with. The market's own brains (allowed
model resources, market.selectors.brain) are used through a lease inside the session; when none is
allowed, healthy and affordable, the answer is the agent's own centralized model with the reason,
never an error, so the agent is never blocked.

The choice is kept per session (SessionBrain) and moves along BRAIN_TABLE: `choose` a web3 brain,
`fall_back` to centralized; every change is a `brain.resolve` audit event naming its cause
(resolve, failure, fallback). brain_invoke calls the kept brain through the invoke proxy inside the
session; a provider fault (E_UNAVAILABLE, E_TIMEOUT) is recorded on the call as any failure is (so
it counts toward the resource's health in the index), counted on the choice, and the session is
re-resolved without that brain and the call tried on the next one, at most MAX_ATTEMPTS brains.

Lock order: the session, its brain row, the lease (session_lease), the audit head last.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from market import states
from market.audit.log import audit_record
from market.errors import MarketError
from market.models import Lease, Resource, Session, SessionBrain
from market.selectors.brain import USABLE_HEALTH, BrainCandidate, brain_candidates
from market.selectors.index import PROVIDER_FAULTS
from market.selectors.sessions import session_get
from market.services.invoke import InvokeResult
from market.services.session_invoke import session_invoke, session_lease
from market.services.sessions import lock_own_session

SRC = SessionBrain.Source
MAX_ATTEMPTS = 3
# Why a session is on the centralized fallback.
REASONS = [
    "session_not_open",  # it waits for approval, has expired or was settled
    "no_allowed_brain",  # no model resource on the allowlists that the session may pay
    "no_healthy_brain",  # every allowed one is degraded or failing
    "insufficient_budget",  # the session (or a trusted owner's balance) cannot cover a call
    "session_cap",
    "daily_cap",
    "counterparty_cap",
    "rate_limited",
    "brain_failed",  # MAX_ATTEMPTS brains failed in one brain.invoke
]
SKIPPED = ["not_allowed", "unhealthy", "unaffordable"]
QUOTA_REASONS = {
    "sessionCap": "session_cap",
    "dailyCap": "daily_cap",
    "counterpartyDailyCap": "counterparty_cap",
    "callsPerMinute": "rate_limited",
}
# Refusals of a call that mean "this brain, not now": the session is re-resolved without it.
PASS_OVER = ("E_CONFLICT", "E_EXPIRED", "E_REVOKED")

BRAIN_TABLE = states.register(
    SessionBrain,
    states.StateTable(
        "session brain",
        [
            states.Transition(SRC.CENTRALIZED, "choose", SRC.WEB3),
            states.Transition(SRC.WEB3, "choose", SRC.WEB3),
            states.Transition(SRC.WEB3, "fall_back", SRC.CENTRALIZED),
            states.Transition(SRC.CENTRALIZED, "fall_back", SRC.CENTRALIZED),
        ],
        status_field="source",
    ),
)


@dataclass(frozen=True)
class Resolution:
    session_id: str
    source: str
    resource_id: str | None
    provider_actor_id: str | None
    lease_id: str | None
    model: str | None
    reason: str | None
    failures: int
    resolved_at: datetime
    preferred_skipped: str | None = None


def resolution_of(row: SessionBrain, *, skipped: str | None = None) -> Resolution:
    web3 = row.source == SRC.WEB3
    return Resolution(
        session_id=row.session.session_id,
        source=row.source,
        resource_id=row.resource.resource_id if web3 else None,
        provider_actor_id=row.resource.provider_actor_id if web3 else None,
        lease_id=row.lease.lease_id if web3 else None,
        model=row.model if web3 else None,
        reason=None if web3 else row.reason,
        failures=row.failures,
        resolved_at=row.resolved_at,
        preferred_skipped=skipped,
    )


def _pick(pool: list[BrainCandidate], preferred: str | None) -> tuple[BrainCandidate | None, str | None]:
    skipped = None
    if preferred:
        wanted = next((c for c in pool if c.resource.resource_id == preferred), None)
        if wanted is not None and wanted.usable:
            return wanted, None
        skipped = (
            "not_allowed" if wanted is None else "unhealthy" if wanted.health not in USABLE_HEALTH else "unaffordable"
        )
    return next((c for c in pool if c.usable), None), skipped


def _reason(pool: list[BrainCandidate], allowed: list[BrainCandidate]) -> str:
    if not allowed:
        return "no_allowed_brain"
    healthy = [c for c in pool if c.health in USABLE_HEALTH]
    if not healthy:
        return "no_healthy_brain"
    refusal = healthy[0].refusal
    return refusal if refusal in REASONS else "insufficient_budget"


def _keep(
    session: Session,
    row: SessionBrain | None,
    *,
    resource: Resource | None,
    lease: Lease | None,
    reason: str,
    cause: str,
    failed: dict[str, str] | None,
) -> SessionBrain:
    """Store the choice; a change (or the first choice) is an audit event."""
    now = timezone.now()
    source = SRC.WEB3 if resource is not None else SRC.CENTRALIZED
    fields = {"resource": resource, "lease": lease, "model": resource.name if resource else "", "reason": reason}
    if row is None:
        row = SessionBrain.objects.create(session=session, source=source, resolved_at=now, resolutions=1, **fields)
    elif (row.source, row.resource_id, row.lease_id, row.reason) == (
        source,
        resource.pk if resource else None,
        lease.pk if lease else None,
        reason,
    ):
        row.save(update_fields=["failures", "updated_at"])
        return row
    else:
        for name, value in fields.items():
            setattr(row, name, value)
        row.resolved_at, row.resolutions = now, row.resolutions + 1
        states.transition(
            row,
            "choose" if resource else "fall_back",
            update_fields=[*fields, "failures", "resolved_at", "resolutions"],
        )
    audit_record(
        actor_id=session.owner_actor_id,
        action="brain.resolve",
        object_type="session",
        object_id=session.session_id,
        payload={
            "source": source,
            "resourceId": resource.resource_id if resource else None,
            "leaseId": lease.lease_id if lease else None,
            "reason": reason or None,
            "cause": cause,
            "failed": failed,
        },
        parties=[session.owner_actor_id, *([resource.provider_actor_id] if resource else [])],
    )
    return row


def brain_resolve(
    *,
    session_id: str,
    actor_id: str,
    delegation_id: str = "",
    preferred: str | None = None,
    exclude: tuple[str, ...] = (),
    failed: dict[str, str] | None = None,
    reason: str | None = None,
) -> Resolution:
    """Pick the session's brain now: `preferred` when it is allowed and usable, else the best by score
    (leased inside the session), else centralized with the reason. `exclude`: brains not to pick
    (those that just failed); `failed` {resourceId, error}: the fault that caused this, counted on the
    choice when it is the kept brain's; `reason`: fall back with it without looking (a refusal of
    the budget or a cap). E_NOT_FOUND for anyone but the session's owner (and its delegation)."""
    with transaction.atomic():
        session = lock_own_session(session_id, actor_id=actor_id, delegation_id=delegation_id)
        row = (
            SessionBrain.objects.select_for_update(of=("self",))
            .select_related("resource", "lease")
            .filter(session=session)
        )
        row = row.first()
        if failed and row is not None and row.resource and row.resource.resource_id == failed["resourceId"]:
            row.failures += 1
        cause = "failure" if failed else "fallback" if reason else "resolve"
        keep = {"cause": cause, "failed": failed}
        if session.status != Session.Status.OPEN or session.expires_at <= timezone.now():
            reason = "session_not_open"
        if reason:
            row = _keep(session, row, resource=None, lease=None, reason=reason, **keep)
            return resolution_of(row)
        allowed = brain_candidates(actor_id=session.owner_actor_id, session=session)
        pool = [c for c in allowed if c.resource.resource_id not in exclude]
        pick, skipped = _pick(pool, preferred)
        if pick is None:
            row = _keep(session, row, resource=None, lease=None, reason=_reason(pool, allowed), **keep)
        else:
            lease = session_lease(session, pick.resource, timezone.now())
            row = _keep(session, row, resource=pick.resource, lease=lease, reason="", **keep)
        return resolution_of(row, skipped=skipped)


def _kept(*, session_id: str, actor_id: str, delegation_id: str) -> Resolution:
    """The kept web3 brain, or a fresh resolution when there is none (a centralized choice is looked
    at again on every call: a brain may have come back)."""
    session = session_get(session_id=session_id, actor_id=actor_id, delegation_id=delegation_id)
    row = SessionBrain.objects.select_related("resource", "lease", "session").filter(session=session).first()
    if row is not None and row.source == SRC.WEB3 and session.status == Session.Status.OPEN:
        return resolution_of(row)
    return brain_resolve(session_id=session_id, actor_id=actor_id, delegation_id=delegation_id)


def _fallback_reason(exc: MarketError) -> str | None:
    if exc.code == "E_INSUFFICIENT_FUNDS":
        return "insufficient_budget"
    if exc.code == "E_QUOTA_EXCEEDED":
        return QUOTA_REASONS.get(exc.details.get("cap"), "rate_limited")
    return None


def brain_invoke(
    *, session_id: str, actor_id: str, delegation_id: str = "", input: dict[str, Any]
) -> tuple[Resolution, InvokeResult | None]:
    """Call the session's brain (no transaction open: the provider is called between short ones).
    Returns the brain that answered and its result, or the centralized fallback and None. Bad input
    and another's session are errors; nothing available never is."""
    choice = _kept(session_id=session_id, actor_id=actor_id, delegation_id=delegation_id)
    who = {"session_id": session_id, "actor_id": actor_id, "delegation_id": delegation_id}
    tried: list[str] = []
    while choice.source == SRC.WEB3:
        if len(tried) >= MAX_ATTEMPTS:
            return brain_resolve(**who, reason="brain_failed"), None
        try:
            return choice, session_invoke(**who, resource_id=choice.resource_id, input=input)
        except MarketError as exc:
            tried.append(choice.resource_id)
            if exc.code in PROVIDER_FAULTS:
                failed = {"resourceId": choice.resource_id, "error": exc.code}
                choice = brain_resolve(**who, exclude=tuple(tried), failed=failed)
            elif exc.code in PASS_OVER:
                choice = brain_resolve(**who, exclude=tuple(tried))
            elif (reason := _fallback_reason(exc)) is not None:
                choice = brain_resolve(**who, reason=reason)
            else:
                raise
    return choice, None
