"""One filter per kind of value, so no page formats money or time by hand.

{{ account.available|money:"USDC" }}   -> 4.000000 USDC  (minor units, or a decimal string)
{{ lease.expires_at|when }}            -> <time ...>in 3 min</time> (13:42 UTC, 1 Dec 2026)
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html

from market.money import currencies, format_amount

register = template.Library()


@register.filter
def money(value, currency: str) -> str:
    """An amount with its currency, in the currency's scale. Ints are minor units."""
    if value is None or value == "":
        return "—"
    if currency not in currencies():
        return f"{value} {currency}"
    if isinstance(value, int):
        return f"{format_amount(value, currency)} {currency}"
    return f"{value} {currency}"


def _span(seconds: float) -> str:
    seconds = abs(int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def relative(when: datetime, now: datetime | None = None) -> str:
    now = now or timezone.now()
    delta = (when - now).total_seconds()
    if abs(delta) < 5:
        return "just now"
    return f"in {_span(delta)}" if delta > 0 else f"{_span(delta)} ago"


@register.filter
def when(value) -> str:
    """A time relative to now and absolute in the viewer's zone, as a <time> element."""
    if not value:
        return "—"
    if isinstance(value, str):  # an ISO time from stored figures
        value = parse_datetime(value)
        if value is None:
            return "—"
    local = timezone.localtime(value)
    absolute = local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")
    return format_html(
        '<time datetime="{}" title="{}">{}</time> <span class="abs">({})</span>',
        value.isoformat(),
        absolute,
        relative(value),
        absolute,
    )


@register.filter
def percent(part, whole) -> int:
    """Whole percent of part in whole, for progress bars (0 when whole is 0)."""
    try:
        return max(0, min(100, int(part * 100 // whole))) if whole else 0
    except (TypeError, ValueError):
        return 0


@register.filter
def short_id(value: str) -> str:
    value = str(value or "")
    return value if len(value) <= 14 else f"{value[:8]}…{value[-4:]}"


STATUS_PREFIXES = (
    "lease_",
    "task_",
    "bid_",
    "award_",
    "result_",
    "receipt_",
    "dispute_",
    "settlement_",
    "resource_",
    "deposit_",
    "withdrawal_",
    "session_",
    "agent_token_",
)


@register.filter
def status_badge(status: str) -> str:
    """A status as a badge: its plain word (`lease_active` -> active), its full name as the class."""
    word = str(status or "")
    for prefix in (*STATUS_PREFIXES, "invocation_"):
        word = word.removeprefix(prefix)
    return format_html('<span class="status status-{}">{}</span>', status, word.replace("_", " "))


@register.filter
def per_unit(unit: str) -> str:
    """How a unit price reads: per 1M tokens or bytes (API.md), else per call or query."""
    return {"token": "per 1M tokens", "byte": "per 1M bytes"}.get(unit, f"per {unit}")
