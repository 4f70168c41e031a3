"""Resource and lease reads. Visibility: resources are public (every one was published once; an
unpublished one stays readable, with its status, so leases and the index can name it); lists show
published ones unless asked. A lease is visible to its consumer and provider (and staff); to anyone
else it does not exist."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import timedelta
from functools import reduce
from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone

from market.errors import InvalidArgument, NotFound
from market.models import Lease, Resource
from market.selectors.invariants import overdue_leases

# An active lease this long past its expiry is overdue for the expiry sweep (the status summary).
SWEEP_GRACE = timedelta(minutes=5)


def resource_get(*, resource_id: str, actor_id: str, is_staff: bool = False) -> Resource:
    r = Resource.objects.filter(resource_id=resource_id).first()
    if r is None:
        raise NotFound("no such resource")
    return r


class ResourceFilter(django_filters.FilterSet):
    kind = django_filters.CharFilter(field_name="kind")
    providerActorId = django_filters.CharFilter(field_name="provider_actor_id")
    currency = django_filters.CharFilter(field_name="currency")
    status = django_filters.CharFilter(field_name="status")
    tag = django_filters.CharFilter(method="filter_tag")

    class Meta:
        model = Resource
        fields = ["kind", "providerActorId", "currency", "status", "tag"]

    def filter_tag(self, qs, name, value):
        return qs.filter(tags_text__contains=f",{value.strip().lower()},")


def _fs_qs(fs: django_filters.FilterSet) -> QuerySet:
    if not fs.is_valid():
        raise InvalidArgument("invalid filter", details={"fields": {k: str(v[0]) for k, v in fs.errors.items()}})
    return fs.qs


def resource_list(*, actor_id: str, filters: dict[str, Any], is_staff: bool = False) -> QuerySet[Resource]:
    """Published resources unless another status is asked for.

    `maxUnitPrice` is a dict of price ceilings in minor units, by currency (web3api.money.
    price_ceilings): a resource matches when its unit price is at or below its currency's ceiling."""
    filters = {k: v for k, v in filters.items() if v not in (None, "")}
    filters.setdefault("status", Resource.Status.PUBLISHED)
    max_price = filters.pop("maxUnitPrice", None)
    qs = Resource.objects.all()
    qs = _fs_qs(ResourceFilter(filters, queryset=qs))
    if max_price is None:
        return qs
    each_currency = [Q(currency=currency, unit_price__lte=ceiling) for currency, ceiling in max_price.items()]
    return qs.filter(reduce(operator.or_, each_currency)) if each_currency else qs.none()


def lease_get(*, lease_id: str, actor_id: str, is_staff: bool = False) -> Lease:
    lease = Lease.objects.select_related("resource", "settlement").filter(lease_id=lease_id).first()
    if lease is None or not (is_staff or actor_id in (lease.consumer_actor_id, lease.provider_actor_id)):
        raise NotFound("no such lease")
    return lease


class LeaseFilter(django_filters.FilterSet):
    status = django_filters.CharFilter(field_name="status")
    resourceId = django_filters.CharFilter(field_name="resource__resource_id")
    role = django_filters.ChoiceFilter(
        choices=[("consumer", "consumer"), ("provider", "provider")], method="filter_role"
    )

    class Meta:
        model = Lease
        fields = ["status", "resourceId", "role"]

    def filter_role(self, qs, name, value):
        actor_id = self.request_actor_id
        return qs.filter(**{f"{value}_actor_id": actor_id})


def lease_list(*, actor_id: str, filters: dict[str, Any]) -> QuerySet[Lease]:
    """The caller's leases, as consumer or provider."""
    qs = Lease.objects.filter(Q(consumer_actor_id=actor_id) | Q(provider_actor_id=actor_id)).select_related(
        "resource", "settlement"
    )
    fs = LeaseFilter({k: v for k, v in filters.items() if v not in (None, "")}, queryset=qs)
    fs.request_actor_id = actor_id
    return _fs_qs(fs)


@dataclass(frozen=True)
class Supply:
    published: int
    active_leases: int
    overdue_leases: int  # active, more than SWEEP_GRACE past expiresAt


def resource_supply() -> Supply:
    return Supply(
        published=Resource.objects.filter(status=Resource.Status.PUBLISHED).count(),
        active_leases=Lease.objects.filter(status=Lease.Status.ACTIVE).count(),
        overdue_leases=overdue_leases(timezone.now(), SWEEP_GRACE).count(),
    )
