"""The economics an actor (or a visitor of the landing page) reads: flows by window, daily series,
top counterparties and resources, the balance split into available and reserved (by lease, award
and session), the runway at the last 7 days' spend. Every amount is in minor units."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Sum
from django.utils import timezone

from market.models import Resource, TaskOrder, Transfer
from market.money import currencies

RELEASES = (Transfer.Kind.POSTED, Transfer.Kind.POST_PENDING)
SETTLED_CODES = (Transfer.Code.ESCROW_RELEASE, Transfer.Code.TRANSFER)


def market_figures(now=None) -> dict:
    """The landing page's live figures: resources on offer, open tasks, volume settled in 24 h
    per currency (amounts released from escrow or transferred between actors)."""
    now = now or timezone.now()
    volume = {c: 0 for c in currencies()}
    rows = (
        Transfer.objects.filter(kind__in=RELEASES, code__in=SETTLED_CODES, created_at__gte=now - timedelta(hours=24))
        .values("currency")
        .annotate(total=Sum("amount"))
    )
    for row in rows:
        volume[row["currency"]] = row["total"]
    return {
        "resources": Resource.objects.filter(status=Resource.Status.PUBLISHED).count(),
        "open_tasks": TaskOrder.objects.filter(status=TaskOrder.Status.OPEN).count(),
        "volume_24h": volume,
    }
