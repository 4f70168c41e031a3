"""The per-method rate limit as a DRF throttle: fixed windows per (actor or client address,
method), counted in Django's cache (Redis when REDIS_URL is set, so every process shares the
counters).

If the cache cannot be reached (Redis down), the limit fails OPEN: the call is let through and a
warning logged, at most once a minute per process. The rate limit guards the servers against
bursts, not money: every cap that protects money (open tasks, bids and disputes per period, the
sessions' spend caps, the lease budgets) is counted in the database and holds with Redis down."""

from __future__ import annotations

import logging
import re
import time

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from market.errors import QuotaExceeded
from web3api.registry import Method

log = logging.getLogger("web3api.ratelimit")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*([smhd])\s*$")


def parse_rate(rate: str) -> tuple[int, int]:
    match = _RATE.match(rate)
    if not match:
        raise ValueError(f"bad rate {rate!r}: use N/s, N/m, N/h or N/d")
    return int(match.group(1)), _UNITS[match.group(2)]


def rate_for(method: Method) -> str:
    """WEB3_RATE_LIMITS' rate for the method, else the one it declares, else the default."""
    return settings.WEB3_RATE_LIMITS.get(method.name) or method.rate_limit or settings.WEB3_DEFAULT_RATE_LIMIT


def quota_exceeded(method: Method, retry_after_sec: int) -> QuotaExceeded:
    """The refusal of a call over the method's limit: which limit, and when to try again."""
    allowed, period = parse_rate(rate_for(method))
    return QuotaExceeded(
        f"at most {allowed} calls per {period} s to {method.name}",
        details={"retryAfterSec": retry_after_sec, "limit": allowed, "periodSec": period},
    )


class MethodRateThrottle(SimpleRateThrottle):
    """`scope` is the called method's name, and its rate `rate_for` it. Calls of an `auth: none`
    method count by client address (REMOTE_ADDR), the others by actor.

    The count is a fixed window kept with the cache's atomic add and incr: DRF's own history of
    request times is read, changed and written back, so two processes counting at once would lose
    each other's calls."""

    cache_format = "rl:%(scope)s:%(ident)s"

    def __init__(self) -> None:
        """The rate is known only once the view asks (as in DRF's ScopedRateThrottle)."""
        self.retry_after_sec = 1

    def parse_rate(self, rate: str) -> tuple[int, int]:
        return parse_rate(rate)

    def get_cache_key(self, request, view) -> str:
        caller = request.user
        ident = caller.actor_id if caller is not None else "ip:" + request.META.get("REMOTE_ADDR", "?")
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view) -> bool:
        self.scope = view.method.name
        self.rate = rate_for(view.method)
        self.num_requests, self.duration = self.parse_rate(self.rate)
        now = self.timer()
        window = int(now // self.duration)
        key = f"{self.get_cache_key(request, view)}:{self.duration}:{window}"
        try:
            count = self._count(key)
        except Exception as exc:  # noqa: BLE001 - the cache unreachable: fail open (module docstring)
            _cache_down(exc)
            return True
        if count <= self.num_requests:
            return True
        self.retry_after_sec = max(1, int((window + 1) * self.duration - now + 0.999))
        return False

    def _count(self, key: str) -> int:
        self.cache.add(key, 0, timeout=self.duration + 1)
        try:
            return self.cache.incr(key)
        except ValueError:  # evicted between add and incr
            self.cache.add(key, 1, timeout=self.duration + 1)
            return 1

    def wait(self) -> int:
        return self.retry_after_sec


_last_warning = [0.0]


def _cache_down(exc: BaseException) -> None:
    now = time.monotonic()
    if now - _last_warning[0] >= 60 or not _last_warning[0]:
        _last_warning[0] = now
        log.warning("rate-limit counters unreachable (%s): calls are let through", type(exc).__name__)
