"""Index reads: discoverable resources with price, freshness, health and reputation.

health (per resource, market.health): stale when its newest report is older than STALE_AFTER (or it
never reported); degraded when its recent calls (the last one or two health buckets) number at least
MIN_CALLS and more than DEGRADED_FAILURE_RATE of them failed by the provider's fault; healthy
otherwise. Read from the resource's stored standing (market.services.standing), never by counting
invocations, so a page and a health filter cost the same at ten million calls as at ten.
reputation (per provider, 0-100): invoke success rate x settled leases / (settled leases + 2); with
no invocations yet the success rate counts as 1. Usage volume is reported beside it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from market.health import (
    DEGRADED_FAILURE_RATE,
    HEALTH_BUCKET,
    HEALTH_STATES,
    HEALTH_WINDOW,
    MIN_CALLS,
    PROVIDER_FAULTS,
    STALE_AFTER,
    bucket_start,
    health_state,
    recent_counts,
)
from market.models import Lease, ProviderStanding, Resource, ResourceStanding, UsageEntry
from market.selectors.resources import resource_list

__all__ = [
    "DEGRADED_FAILURE_RATE",
    "HEALTH_STATES",
    "HEALTH_WINDOW",
    "MIN_CALLS",
    "PROVIDER_FAULTS",
    "STALE_AFTER",
    "health_state",
]

ENDED = (Lease.Status.EXPIRED, Lease.Status.REVOKED, Lease.Status.EXHAUSTED)


def _recent(field: str, prior: str, now: datetime) -> Case:
    """A resource's recent calls (or faults) at `now`, from its standing (market.health.recent_counts)."""
    start = bucket_start(now)
    return Case(
        When(standing__window_start=start, then=F(f"standing__{field}") + F(f"standing__{prior}")),
        When(standing__window_start=start - HEALTH_BUCKET, then=F(f"standing__{field}")),
        default=Value(0),
        output_field=IntegerField(),
    )


def health_filter(state: str, now: datetime) -> Q:
    """The resources in health `state` at `now`, by their standing's indexed times."""
    fresh = Q(standing__last_reported_at__gte=now - STALE_AFTER)
    if state == "stale":
        return Q(standing__last_reported_at__isnull=True) | Q(standing__last_reported_at__lt=now - STALE_AFTER)
    degraded = Q(standing__degraded_until__gt=now, standing__degraded_from__lte=now)
    if state == "degraded":
        return fresh & degraded
    not_degraded = (
        Q(standing__degraded_until__isnull=True)
        | Q(standing__degraded_until__lte=now)
        | Q(standing__degraded_from__gt=now)
    )
    return fresh & not_degraded


def index_key_copies(filters: dict[str, Any]) -> tuple[str, ...]:
    """The fields equal to the resource's id in every row index_resources(filters) returns: its
    standing's key when the health filter needs a standing (healthy, degraded; a stale resource may
    have none). A page deep in the list bounds them with its cursor too, so that the walk of the
    standings in page order starts at the cursor instead of at the newest one."""
    return ("standing__resource_id",) if filters.get("health") in ("healthy", "degraded") else ()


def index_resources(filters: dict[str, Any], now: datetime | None = None) -> QuerySet[Resource]:
    """Published resources (resource_list's filters, plus `health`), each annotated with
    `last_reported_at`, `recent_calls` and `recent_failures` from its standing."""
    now = now or timezone.now()
    filters = {k: v for k, v in filters.items() if v not in (None, "")}
    health = filters.pop("health", None)
    filters["status"] = Resource.Status.PUBLISHED
    qs = resource_list(actor_id="", filters=filters)
    if health:
        qs = qs.filter(health_filter(health, now))
    return qs.annotate(
        last_reported_at=F("standing__last_reported_at"),
        recent_calls=_recent("window_calls", "prior_calls", now),
        recent_failures=_recent("window_faults", "prior_faults", now),
    )


@dataclass(frozen=True)
class IndexEntry:
    """A discoverable resource (annotated by index_resources) with its freshness, health and its
    provider's reputation score."""

    resource: Resource
    last_reported_at: datetime | None
    freshness_sec: int | None
    health: str
    reputation: int


@dataclass(frozen=True)
class ResourceHealth:
    resource_id: str
    status: str
    last_reported_at: datetime | None
    freshness_sec: int | None
    recent_invocations: int
    recent_failures: int


@dataclass(frozen=True)
class Reputation:
    actor_id: str
    score: int
    settled_leases: int
    usage_volume: dict[str, int]  # currency -> minor units of usage charged
    invocations: int
    failures: int
    failure_rate: float


def _freshness_sec(last_reported_at, now) -> int | None:
    return int((now - last_reported_at).total_seconds()) if last_reported_at else None


def index_entries(resources: Iterable[Resource], now=None) -> list[IndexEntry]:
    """The entries of a page of index_resources, with their providers' reputations (two queries
    for the whole page, however many providers it shows)."""
    resources = list(resources)
    scores = {a: rep.score for a, rep in reputations({r.provider_actor_id for r in resources}).items()}
    now = now or timezone.now()
    return [
        IndexEntry(
            resource=r,
            last_reported_at=r.last_reported_at,
            freshness_sec=_freshness_sec(r.last_reported_at, now),
            health=health_state(r.last_reported_at, r.recent_calls, r.recent_failures, now),
            reputation=scores[r.provider_actor_id],
        )
        for r in resources
    ]


def resource_health(resource: Resource) -> ResourceHealth:
    now = timezone.now()
    s = ResourceStanding.objects.filter(resource=resource).first() or ResourceStanding(resource=resource)
    calls, failures = recent_counts(s.window_start, s.window_calls, s.window_faults, s.prior_calls, s.prior_faults, now)
    return ResourceHealth(
        resource_id=resource.resource_id,
        status=health_state(s.last_reported_at, calls, failures, now),
        last_reported_at=s.last_reported_at,
        freshness_sec=_freshness_sec(s.last_reported_at, now),
        recent_invocations=calls,
        recent_failures=failures,
    )


def _reputation(actor_id: str, settled: int, calls: int, failures: int, volume: dict[str, int]) -> Reputation:
    failure_rate = failures / calls if calls else 0.0
    return Reputation(
        actor_id=actor_id,
        score=round(100 * (1 - failure_rate) * settled / (settled + 2)),
        settled_leases=settled,
        usage_volume=volume,
        invocations=calls,
        failures=failures,
        failure_rate=round(failure_rate, 4),
    )


def reputations(actor_ids: set[str]) -> dict[str, Reputation]:
    """The reputations of several providers in two queries (their settled leases, counted by
    provider; their stored call counts); usage volume is left out (provider_reputation has it).
    The leases are counted as rows (COUNT(*)), so the (provider, status) index alone answers once
    its pages are all-visible, without visiting each lease."""
    if not actor_ids:
        return {}
    settled = dict(
        Lease.objects.filter(provider_actor_id__in=actor_ids, status__in=ENDED)
        .order_by()
        .values_list("provider_actor_id")
        .annotate(n=Count("*"))
        .values_list("provider_actor_id", "n")
    )
    counts = {s.actor_id: (s.calls, s.faults) for s in ProviderStanding.objects.filter(actor_id__in=actor_ids)}
    return {a: _reputation(a, settled.get(a, 0), *counts.get(a, (0, 0)), {}) for a in actor_ids}


def provider_reputation(actor_id: str) -> Reputation:
    volume: dict[str, int] = defaultdict(int)
    for row in (
        UsageEntry.objects.filter(lease__provider_actor_id=actor_id)
        .values("lease__currency")
        .annotate(total=Sum("amount"))
    ):
        volume[row["lease__currency"]] = row["total"] or 0
    rep = reputations({actor_id})[actor_id]
    return _reputation(actor_id, rep.settled_leases, rep.invocations, rep.failures, dict(volume))
