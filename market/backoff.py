"""The retry schedule of a transient failure (a webhook, the chain): Celery's own exponential backoff,
as its tasks' retry_backoff=WEB3_RETRY_BASE_SEC and retry_backoff_max=MAX_SEC (without jitter)
compute it. The outbox rows' next_attempt_at follow it too, so a job's retry and the periodic sweep
agree on when the next attempt is due: WEB3_RETRY_BASE_SEC (15 s) after the first failure,
doubling, at most an hour."""

from __future__ import annotations

from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings

MAX_SEC = 3600


def base_sec() -> int:
    return settings.WEB3_RETRY_BASE_SEC


def backoff_seconds(attempts: int) -> int:
    """The wait after the `attempts`-th failed attempt (Celery's countdown after its retry attempts - 1)."""
    return get_exponential_backoff_interval(factor=base_sec(), retries=max(attempts - 1, 0), maximum=MAX_SEC)
