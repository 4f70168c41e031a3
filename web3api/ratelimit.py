"""Fixed-window rate limits per (actor or client address, method) in Django's cache (Redis when
REDIS_URL is set, so every process shares the counters)."""

from __future__ import annotations

import re
import time

from django.conf import settings
from django.core.cache import cache

from market.errors import QuotaExceeded

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*([smhd])\s*$")


def parse_rate(rate: str) -> tuple[int, int]:
    match = _RATE.match(rate)
    if not match:
        raise ValueError(f"bad rate {rate!r}: use N/s, N/m, N/h or N/d")
    return int(match.group(1)), _UNITS[match.group(2)]


def limit_for(method_name: str, declared: str | None) -> tuple[int, int]:
    rate = settings.WEB3_RATE_LIMITS.get(method_name) or declared or settings.WEB3_DEFAULT_RATE_LIMIT
    return parse_rate(rate)


def hit(*, subject: str, method_name: str, declared: str | None) -> None:
    """Count one call; raise E_QUOTA_EXCEEDED with retryAfterSec when over the limit."""
    allowed, period = limit_for(method_name, declared)
    now = time.time()
    window = int(now // period)
    key = f"rl:{method_name}:{subject}:{period}:{window}"
    cache.add(key, 0, timeout=period + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.add(key, 1, timeout=period + 1)
        count = 1
    if count > allowed:
        retry_after = max(1, int((window + 1) * period - now + 0.999))
        raise QuotaExceeded(
            f"at most {allowed} calls per {period} s to {method_name}",
            details={"retryAfterSec": retry_after, "limit": allowed, "periodSec": period},
        )
