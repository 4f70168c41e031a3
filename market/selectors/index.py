"""Index reads: discoverable resources with price, freshness, health and reputation.

health (per resource): stale when its newest report is older than STALE_AFTER (or it never
reported); degraded when, over the last HEALTH_WINDOW, at least MIN_CALLS invocations ran and more
than DEGRADED_FAILURE_RATE of them failed; healthy otherwise.
reputation (per provider, 0-100): invoke success rate x settled leases / (settled leases + 2); with
no invocations yet the success rate counts as 1. Usage volume is reported beside it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone

from market.models import Invocation, Lease, Resource, UsageEntry
from market.selectors.resources import ResourceFilter, _fs_qs

HEALTH_STATES = ["healthy", "degraded", "stale"]
STALE_AFTER = timedelta(hours=1)
HEALTH_WINDOW = timedelta(hours=1)
MIN_CALLS = 3
DEGRADED_FAILURE_RATE = 0.2
ENDED = (Lease.Status.EXPIRED, Lease.Status.REVOKED, Lease.Status.EXHAUSTED)
# Failures that count against a provider: it was down or slow. A refused input or a lease that
# ended mid-call is not the provider's fault.
PROVIDER_FAULTS = ("E_UNAVAILABLE", "E_TIMEOUT")


def index_resources(filters: dict[str, Any]) -> QuerySet[Resource]:
    since = timezone.now() - HEALTH_WINDOW
    filters = {k: v for k, v in filters.items() if v not in (None, "")}
    filters["status"] = Resource.Status.PUBLISHED
    qs = _fs_qs(ResourceFilter(filters, queryset=Resource.objects.all()))
    return qs.annotate(
        last_reported_at=Max("index_reports__reported_at"),
    ).annotate(
        recent_calls=Count(
            "invocations",
            filter=Q(
                invocations__started_at__gte=since,
                invocations__status__in=["invocation_succeeded", "invocation_failed"],
            ),
            distinct=True,
        ),
        recent_failures=Count(
            "invocations",
            filter=Q(
                invocations__started_at__gte=since,
                invocations__status="invocation_failed",
                invocations__error_code__in=PROVIDER_FAULTS,
            ),
            distinct=True,
        ),
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


def health_state(last_reported_at, calls: int, failures: int, now=None) -> str:
    now = now or timezone.now()
    if last_reported_at is None or now - last_reported_at > STALE_AFTER:
        return "stale"
    if calls >= MIN_CALLS and failures / calls > DEGRADED_FAILURE_RATE:
        return "degraded"
    return "healthy"


def _freshness_sec(last_reported_at, now) -> int | None:
    return int((now - last_reported_at).total_seconds()) if last_reported_at else None


def index_entries(resources: Iterable[Resource], now=None) -> list[IndexEntry]:
    """The entries of a page of index_resources, with their providers' reputations read once per
    provider."""
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
    last = resource.index_reports.aggregate(last=Max("reported_at"))["last"]
    recent = Invocation.objects.filter(
        resource=resource, started_at__gte=now - HEALTH_WINDOW, status__in=["invocation_succeeded", "invocation_failed"]
    )
    calls = recent.count()
    failures = recent.filter(status="invocation_failed", error_code__in=PROVIDER_FAULTS).count()
    return ResourceHealth(
        resource_id=resource.resource_id,
        status=health_state(last, calls, failures, now),
        last_reported_at=last,
        freshness_sec=_freshness_sec(last, now),
        recent_invocations=calls,
        recent_failures=failures,
    )


def provider_reputation(actor_id: str) -> Reputation:
    settled = Lease.objects.filter(provider_actor_id=actor_id, status__in=ENDED).count()
    volume: dict[str, int] = defaultdict(int)
    for row in (
        UsageEntry.objects.filter(lease__provider_actor_id=actor_id)
        .values("lease__currency")
        .annotate(total=Sum("amount"))
    ):
        volume[row["lease__currency"]] = row["total"] or 0
    inv = Invocation.objects.filter(
        resource__provider_actor_id=actor_id, status__in=["invocation_succeeded", "invocation_failed"]
    )
    calls = inv.count()
    failures = inv.filter(status="invocation_failed", error_code__in=PROVIDER_FAULTS).count()
    failure_rate = failures / calls if calls else 0.0
    return Reputation(
        actor_id=actor_id,
        score=round(100 * (1 - failure_rate) * settled / (settled + 2)),
        settled_leases=settled,
        usage_volume=dict(volume),
        invocations=calls,
        failures=failures,
        failure_rate=round(failure_rate, 4),
    )


def reputations(actor_ids: set[str]) -> dict[str, Reputation]:
    return {a: provider_reputation(a) for a in actor_ids}
