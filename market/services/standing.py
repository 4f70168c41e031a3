"""Keeping the index's stored figures (ResourceStanding, ProviderStanding) up to date: each finished
call updates its resource's health buckets and its provider's counts in one statement each, and each
signed report its resource's freshness, so the index filters and shows health and reputation at a
million resources without counting invocations (market.health has the rules).

Called inside the transaction that finishes the call (or records the report), after its locks: the
standing rows are locked last, for the few statements left before the commit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Case, DateTimeField, F, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual
from django.utils import timezone

from market.health import DEGRADED_FAILURE_PCT, HEALTH_BUCKET, MIN_CALLS, PROVIDER_FAULTS, bucket_start
from market.models import ProviderStanding, ResourceStanding


def _int(value: int) -> Value:
    return Value(value, output_field=IntegerField())


def _at(value: datetime) -> Value:
    return Value(value, output_field=DateTimeField())


def _degraded(calls, faults) -> Q:
    return Q(GreaterThanOrEqual(calls, _int(MIN_CALLS))) & Q(
        GreaterThan(faults * _int(100), calls * _int(DEGRADED_FAILURE_PCT))
    )


def _bucket_update(calls: int, faults: int, start: datetime) -> dict:
    """The SET of one resource's standing for `calls` more finished calls (`faults` of them the
    provider's) in the bucket at `start`; every expression reads the row's values before it."""
    same, next_one = Q(window_start=start), Q(window_start=start - HEALTH_BUCKET)
    window_calls = Case(When(same, then=F("window_calls") + calls), default=_int(calls))
    window_faults = Case(When(same, then=F("window_faults") + faults), default=_int(faults))
    prior_calls = Case(When(same, then=F("prior_calls")), When(next_one, then=F("window_calls")), default=_int(0))
    prior_faults = Case(When(same, then=F("prior_faults")), When(next_one, then=F("window_faults")), default=_int(0))
    with_prior = _degraded(window_calls + prior_calls, window_faults + prior_faults)
    alone = _degraded(window_calls, window_faults)
    after = start + HEALTH_BUCKET
    return {
        "window_start": _at(start),
        "window_calls": window_calls,
        "window_faults": window_faults,
        "prior_calls": prior_calls,
        "prior_faults": prior_faults,
        # as market.health.degraded_span, in SQL
        "degraded_from": Case(
            When(with_prior, then=_at(start)), When(alone, then=_at(after)), default=None, output_field=DateTimeField()
        ),
        "degraded_until": Case(
            When(alone, then=_at(after + HEALTH_BUCKET)),
            When(with_prior, then=_at(after)),
            default=None,
            output_field=DateTimeField(),
        ),
    }


def _update_or_create(model, key: dict, changes: dict) -> None:
    if not model.objects.filter(**key).update(**changes):
        model.objects.bulk_create([model(**key)], ignore_conflicts=True)
        model.objects.filter(**key).update(**changes)


def standing_record_calls(calls: Iterable[tuple[int, str, str]], *, at: datetime | None = None) -> None:
    """Count finished calls, each (resource pk, provider actor id, error code: "" for a success)."""
    start = bucket_start(at or timezone.now())
    per_resource: Counter = Counter()
    per_provider: Counter = Counter()
    for resource_pk, provider, code in calls:
        fault = int(code in PROVIDER_FAULTS)
        per_resource[resource_pk, "calls"] += 1
        per_resource[resource_pk, "faults"] += fault
        per_provider[provider, "calls"] += 1
        per_provider[provider, "faults"] += fault
    for pk in sorted({pk for pk, _ in per_resource}):  # fixed lock order
        changes = _bucket_update(per_resource[pk, "calls"], per_resource[pk, "faults"], start)
        _update_or_create(ResourceStanding, {"resource_id": pk}, changes)
    for actor_id in sorted({a for a, _ in per_provider}):
        n, faults = per_provider[actor_id, "calls"], per_provider[actor_id, "faults"]
        _update_or_create(
            ProviderStanding, {"actor_id": actor_id}, {"calls": F("calls") + n, "faults": F("faults") + faults}
        )


def standing_record_call(*, resource_pk: int, provider_actor_id: str, error_code: str = "") -> None:
    standing_record_calls([(resource_pk, provider_actor_id, error_code)])


def standing_record_report(*, resource_pk: int, reported_at: datetime) -> None:
    """A signed report: the resource's freshness is its newest report's time."""
    at = _at(reported_at)
    _update_or_create(
        ResourceStanding,
        {"resource_id": resource_pk},
        {"last_reported_at": Greatest(Coalesce("last_reported_at", at), at)},
    )
