"""What the operator's alert and actor pages read beside the monitor's own selectors: the
notification channels and how their deliveries stand, and the actors' accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import django_filters
from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from market.errors import InvalidArgument
from market.models import Account, AlertNotification


@dataclass(frozen=True)
class Channel:
    """A notification channel: whether it is configured (never where it points), and its deliveries
    in the last day by state."""

    name: str
    configured: bool
    target: str  # what it is, in words: no URL, no address
    delivered: int
    pending: int
    failed: int
    last_delivered_at: Any


def notification_channels() -> list[Channel]:
    day_ago = timezone.now() - timedelta(days=1)
    rows = {
        r["channel"]: r
        for r in AlertNotification.objects.filter(created_at__gte=day_ago)
        .values("channel")
        .annotate(
            delivered=Count("pk", filter=Q(status=AlertNotification.Status.DELIVERED)),
            pending=Count("pk", filter=Q(status=AlertNotification.Status.PENDING)),
            failed=Count("pk", filter=Q(status=AlertNotification.Status.FAILED)),
            last=Max("delivered_at"),
        )
        .order_by()
    }
    emails = len(settings.WEB3_ALERT_EMAILS)
    configured = {
        AlertNotification.Channel.WEBHOOK: (bool(settings.WEB3_ALERT_WEBHOOK_URL), "HMAC-signed webhook"),
        AlertNotification.Channel.EMAIL: (bool(emails), f"e-mail to {emails} address{'es' if emails != 1 else ''}"),
    }
    out = []
    for name, (on, target) in configured.items():
        r = rows.get(name, {})
        out.append(
            Channel(
                name=name,
                configured=on,
                target=target,
                delivered=r.get("delivered", 0),
                pending=r.get("pending", 0),
                failed=r.get("failed", 0),
                last_delivered_at=r.get("last"),
            )
        )
    return out


def recent_notifications(limit: int = 20) -> list[AlertNotification]:
    return list(AlertNotification.objects.select_related("alert__rule").order_by("-pk")[:limit])


class AccountFilter(django_filters.FilterSet):
    actorId = django_filters.CharFilter(field_name="actor_id")
    currency = django_filters.CharFilter(field_name="currency")

    class Meta:
        model = Account
        fields = ["actorId", "currency"]


def actor_accounts(*, filters: dict[str, Any]) -> QuerySet[Account]:
    """The actors' own accounts (not the external or revenue ones), newest first."""
    fs = AccountFilter(
        {k: v for k, v in filters.items() if v not in (None, "")},
        queryset=Account.objects.filter(kind=Account.Kind.ACTOR),
    )
    if not fs.is_valid():
        raise InvalidArgument("invalid filter", details={"fields": {k: str(v[0]) for k, v in fs.errors.items()}})
    return fs.qs
