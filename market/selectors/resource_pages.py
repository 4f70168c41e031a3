"""What a resource's and a lease's pages show beside the object itself: its leases and calls as
the viewer may see them, the provider's income from it, and one page of the discover list.
A fixed number of queries each, whatever the number of leases or calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from market.models import IndexReport, Invocation, Lease, Resource, UsageEntry
from market.money import ceiling_minor, currencies
from market.selectors.index import HEALTH_WINDOW, PROVIDER_FAULTS, health_state
from market.selectors.resources import resource_list

RECENT = 20


def discover_filters(params: dict[str, Any]) -> dict[str, Any]:
    """The discover form's params (the API's names) as resource_list/index_resources take them:
    `maxUnitPrice` becomes a ceiling in minor units per currency (only the chosen one's, if any)."""
    filters = {k: v for k, v in params.items() if v not in (None, "")}
    ceiling = filters.pop("maxUnitPrice", None)
    if ceiling is not None:
        chosen = [filters["currency"]] if filters.get("currency") in currencies() else list(currencies())
        filters["maxUnitPrice"] = {c: ceiling_minor(ceiling, currencies()[c], field="maxUnitPrice") for c in chosen}
    return filters


@dataclass(frozen=True)
class DiscoverRow:
    resource: Resource
    health: str
    last_reported_at: Any


def _calls(since, **extra) -> Subquery:
    qs = Invocation.objects.filter(resource=OuterRef("pk"), started_at__gte=since, **extra)
    return Subquery(qs.order_by().values("resource").annotate(n=Count("pk")).values("n")[:1])


def _with_health(ids: list[int]) -> QuerySet[Resource]:
    """The published resources of a page with index_resources' health annotations, each a
    subquery of that resource's rows (its index reports, its last hour of calls) rather than a
    grouping of joined rows."""
    since = timezone.now() - HEALTH_WINDOW
    finished = ["invocation_succeeded", "invocation_failed"]
    reported = IndexReport.objects.filter(resource=OuterRef("pk")).order_by("-reported_at").values("reported_at")[:1]
    return Resource.objects.filter(pk__in=ids, status=Resource.Status.PUBLISHED).annotate(
        last_reported_at=Subquery(reported),
        recent_calls=Coalesce(_calls(since, status__in=finished), 0),
        recent_failures=Coalesce(_calls(since, status="invocation_failed", error_code__in=PROVIDER_FAULTS), 0),
    )


def discover_page(*, actor_id: str, filters: dict[str, Any], offset: int, limit: int) -> tuple[list[DiscoverRow], bool]:
    """One page of resources (newest first) with index health; True when there is a next page.
    The ids are picked first from the plain filtered list, so the health annotations run for the
    page's rows only."""
    filters = dict(filters)
    ceiling = filters.pop("maxUnitPrice", None)
    listed = resource_list(actor_id=actor_id, filters={**filters, "maxUnitPrice": ceiling})
    ids = list(listed.order_by("-pk").values_list("pk", flat=True)[offset : offset + limit + 1])
    more = len(ids) > limit
    ids = ids[:limit]
    if filters.get("status", Resource.Status.PUBLISHED) == Resource.Status.PUBLISHED:
        rows, now = {r.pk: r for r in _with_health(ids)}, timezone.now()
        out = [
            DiscoverRow(
                rows[i],
                health_state(rows[i].last_reported_at, rows[i].recent_calls, rows[i].recent_failures, now),
                rows[i].last_reported_at,
            )
            for i in ids
            if i in rows
        ]
    else:
        rows = {r.pk: r for r in Resource.objects.filter(pk__in=ids)}
        out = [DiscoverRow(rows[i], "unlisted", None) for i in ids if i in rows]
    return out, more


def _visible_leases(resource: Resource, actor_id: str, is_staff: bool) -> QuerySet[Lease]:
    qs = Lease.objects.filter(resource=resource)
    if is_staff or actor_id == resource.provider_actor_id:
        return qs
    return qs.filter(consumer_actor_id=actor_id)


@dataclass(frozen=True)
class ResourceActivity:
    leases: list[Lease]
    lease_count: int
    active_leases: int
    calls: list[Invocation]
    call_count: int
    income: int  # released to the provider from this resource's leases (minor units)
    locked: int  # still reserved in its open leases


def resource_activity(*, resource: Resource, actor_id: str, is_staff: bool = False) -> ResourceActivity:
    leases = _visible_leases(resource, actor_id, is_staff)
    totals = leases.aggregate(
        n=Count("pk"),
        active=Count("pk", filter=Q(status=Lease.Status.ACTIVE)),
        released=Sum("settlement__released"),
        spent=Sum("spent", filter=Q(status=Lease.Status.ACTIVE)),
        max_cost=Sum("max_cost", filter=Q(status=Lease.Status.ACTIVE)),
    )
    calls = Invocation.objects.filter(lease__in=leases).select_related("lease").order_by("-pk")
    return ResourceActivity(
        leases=list(leases.select_related("settlement").order_by("-pk")[:RECENT]),
        lease_count=totals["n"],
        active_leases=totals["active"],
        calls=list(calls[:RECENT]),
        call_count=calls.count(),
        income=totals["released"] or 0,
        locked=(totals["max_cost"] or 0) - (totals["spent"] or 0),
    )


@dataclass(frozen=True)
class LeaseActivity:
    calls: list[Invocation]
    call_count: int
    usage: list[UsageEntry]


def lease_activity(lease: Lease) -> LeaseActivity:
    calls = Invocation.objects.filter(lease=lease).order_by("-pk")
    return LeaseActivity(
        calls=list(calls[:RECENT]),
        call_count=calls.count(),
        usage=list(UsageEntry.objects.filter(lease=lease).order_by("-pk")[:RECENT]),
    )


def index_entry_for(resource: Resource, now=None) -> tuple[dict[str, Any], str]:
    """The entry a provider signs to report its resource to the index now, and the exact string
    its wallet personal_signs (`sha256:<hex of the RFC 8785 entry>`)."""
    from django.utils import timezone

    from market.hashing import object_hash, signed_pricing

    now = now or timezone.now()
    entry = {
        "resourceId": resource.resource_id,
        "pricing": signed_pricing(resource),
        "tags": list(resource.tags),
        "reportedAt": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return entry, object_hash(entry)


def lease_page(*, actor_id: str, filters: dict[str, Any], offset: int, limit: int) -> tuple[list[Lease], bool]:
    """One page of the actor's leases (lease_list's, newest first) and whether a next page exists.
    Each side (as consumer, as provider) is read in index order up to the page's end and the two
    are merged, instead of sorting every lease the actor has: the cost follows the page, not the
    history."""
    from market.selectors.resources import LeaseFilter, _fs_qs

    data = {k: v for k, v in filters.items() if v not in (None, "")}
    role = data.get("role")
    ids: set[int] = set()
    for side in ("consumer", "provider"):
        if role and role != side:
            continue
        fs = LeaseFilter(data, queryset=Lease.objects.filter(**{f"{side}_actor_id": actor_id}))
        fs.request_actor_id = actor_id
        ids.update(_fs_qs(fs).order_by("-pk").values_list("pk", flat=True)[: offset + limit + 1])
    window = sorted(ids, reverse=True)[offset : offset + limit + 1]
    rows = {lease.pk: lease for lease in Lease.objects.filter(pk__in=window).select_related("resource", "settlement")}
    return [rows[pk] for pk in window[:limit]], len(window) > limit
