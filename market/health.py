"""The index's health rules, in one place for the writer (market.services.standing) and the readers
(market.selectors.index).

A resource is stale when its newest signed report is older than STALE_AFTER (or it never reported);
degraded when its recent calls number at least MIN_CALLS and more than DEGRADED_FAILURE_PCT percent
of them were the provider's fault (PROVIDER_FAULTS); healthy otherwise.

"Recent calls" are counted in buckets of HEALTH_BUCKET (half of HEALTH_WINDOW, aligned to the Unix
epoch), kept per resource as each call finishes: while a bucket is the newest one, its calls and the
previous bucket's count; during the bucket after it, its calls alone; then none. So the window
reaches back between HEALTH_BUCKET and HEALTH_WINDOW, and a read never counts invocations.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

STALE_AFTER = timedelta(hours=1)
HEALTH_WINDOW = timedelta(hours=1)
HEALTH_BUCKET = HEALTH_WINDOW / 2
MIN_CALLS = 3
DEGRADED_FAILURE_PCT = 20
DEGRADED_FAILURE_RATE = DEGRADED_FAILURE_PCT / 100
HEALTH_STATES = ["healthy", "degraded", "stale"]
# Failures that count against a provider: it was down or slow. A refused input or a lease that
# ended mid-call is not the provider's fault.
PROVIDER_FAULTS = ("E_UNAVAILABLE", "E_TIMEOUT")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def bucket_start(at: datetime) -> datetime:
    """The start of the health bucket holding `at`."""
    return _EPOCH + HEALTH_BUCKET * ((at - _EPOCH) // HEALTH_BUCKET)


def is_degraded(calls: int, faults: int) -> bool:
    return calls >= MIN_CALLS and faults * 100 > calls * DEGRADED_FAILURE_PCT


def degraded_span(
    start: datetime, calls: int, faults: int, prior_calls: int, prior_faults: int
) -> tuple[datetime | None, datetime | None]:
    """When the counts of the bucket at `start` (and of the one before it) make the resource
    degraded, as [from, until), or (None, None)."""
    with_prior = is_degraded(calls + prior_calls, faults + prior_faults)
    alone = is_degraded(calls, faults)
    if not (with_prior or alone):
        return None, None
    return (start if with_prior else start + HEALTH_BUCKET), (
        start + 2 * HEALTH_BUCKET if alone else start + HEALTH_BUCKET
    )


def recent_counts(
    start: datetime | None, calls: int, faults: int, prior_calls: int, prior_faults: int, now: datetime
) -> tuple[int, int]:
    """The recent calls and faults at `now` from a resource's stored buckets."""
    current = bucket_start(now)
    if start == current:
        return calls + prior_calls, faults + prior_faults
    if start == current - HEALTH_BUCKET:
        return calls, faults
    return 0, 0


def health_state(last_reported_at, calls: int, failures: int, now: datetime) -> str:
    if last_reported_at is None or now - last_reported_at > STALE_AFTER:
        return "stale"
    if is_degraded(calls, failures):
        return "degraded"
    return "healthy"
