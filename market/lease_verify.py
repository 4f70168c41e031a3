"""Lease invariants for verify_audit, checked set-based: a lease's spent equals its settlement's
released amount and the sum of its usage entries; an active lease holds an open settlement and an
ended one a closed settlement."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import F, Q, Sum, Value
from django.db.models.functions import Coalesce

from market.models import Lease, Settlement


def lease_problems() -> Iterator[str]:
    for lease_id in Lease.objects.exclude(spent=F("settlement__released")).values_list("lease_id", flat=True)[:1]:
        yield f"lease {lease_id}: spent differs from its settlement's released amount"
        return
    used = (Lease.objects.annotate(used=Coalesce(Sum("usage_entries__amount"), Value(0)))
            .exclude(used=F("spent")).values_list("lease_id", flat=True)[:1])
    for lease_id in used:
        yield f"lease {lease_id}: spent differs from the sum of its usage entries"
        return
    mismatched = Lease.objects.filter(
        Q(status=Lease.Status.ACTIVE) & ~Q(settlement__status__in=Settlement.OPEN)
        | ~Q(status=Lease.Status.ACTIVE) & Q(settlement__status__in=Settlement.OPEN)
    ).values_list("lease_id", "status", "settlement__status")[:1]
    for lease_id, status, settlement_status in mismatched:
        yield f"lease {lease_id} is {status} but its settlement is {settlement_status}"
        return
