"""Keeping the index's stored figures (ResourceStanding, ProviderStanding) up to date: each finished
call updates its resource's health buckets and its provider's counts in one statement each, and each
signed report its resource's freshness, so the index filters and shows health and reputation at a
million resources without counting invocations (market.health has the rules).

Called inside the transaction that finishes the call (or records the report), after its locks: the
standing rows are locked last, for the few statements left before the commit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime

from django.db import connection
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from market import sql
from market.health import DEGRADED_FAILURE_PCT, HEALTH_BUCKET, MIN_CALLS, PROVIDER_FAULTS, bucket_start
from market.models import ProviderStanding, ResourceStanding

# The bucket update is one plain UPDATE (market.sql): as ORM expressions its nested CASEs took Django
# 15-30 ms of CPU to resolve per finished call, most of an invocation's server time (bench/load.py).
# One table, no join: every expression reads the row as it was before the UPDATE, and a concurrent
# writer's change is seen (PostgreSQL re-evaluates the row it waited for).
Part = tuple[str, list]


def _case(*whens: tuple[Part, Part], default: Part) -> Part:
    text, params = "CASE", []
    for (cond, cond_params), (then, then_params) in whens:
        text += f" WHEN {cond} THEN {then}"
        params += [*cond_params, *then_params]
    return f"({text} ELSE {default[0]} END)", [*params, *default[1]]


def _plus(a: Part, b: Part) -> Part:
    return f"({a[0]} + {b[0]})", [*a[1], *b[1]]


def _degraded(calls: Part, faults: Part) -> Part:
    """As market.health: enough calls, and more than the failure share of them the provider's."""
    return (
        f"({calls[0]} >= %s AND {faults[0]} * 100 > {calls[0]} * %s)",
        [*calls[1], MIN_CALLS, *faults[1], *calls[1], DEGRADED_FAILURE_PCT],
    )


def _bucket_update(calls: int, faults: int, start: datetime) -> Part:
    """The SET of one resource's standing for `calls` more finished calls (`faults` of them the
    provider's) in the bucket at `start`."""
    at = connection.ops.adapt_datetimefield_value
    same: Part = ("window_start = %s", [at(start)])
    previous: Part = ("window_start = %s", [at(start - HEALTH_BUCKET)])
    window_calls = _case((same, ("window_calls + %s", [calls])), default=("%s", [calls]))
    window_faults = _case((same, ("window_faults + %s", [faults])), default=("%s", [faults]))
    prior_calls = _case((same, ("prior_calls", [])), (previous, ("window_calls", [])), default=("0", []))
    prior_faults = _case((same, ("prior_faults", [])), (previous, ("window_faults", [])), default=("0", []))
    with_prior = _degraded(_plus(window_calls, prior_calls), _plus(window_faults, prior_faults))
    alone = _degraded(window_calls, window_faults)
    after = start + HEALTH_BUCKET
    # as market.health.degraded_span, in SQL
    degraded_from = _case((with_prior, ("%s", [at(start)])), (alone, ("%s", [at(after)])), default=("NULL", []))
    degraded_until = _case(
        (alone, ("%s", [at(after + HEALTH_BUCKET)])), (with_prior, ("%s", [at(after)])), default=("NULL", [])
    )
    sets = {
        "window_start": ("%s", [at(start)]),
        "window_calls": window_calls,
        "window_faults": window_faults,
        "prior_calls": prior_calls,
        "prior_faults": prior_faults,
        "degraded_from": degraded_from,
        "degraded_until": degraded_until,
    }
    return ", ".join(f"{name} = {text}" for name, (text, _) in sets.items()), [p for _, ps in sets.values() for p in ps]


def _record_bucket(resource_pk: int, calls: int, faults: int, start: datetime) -> None:
    assignments, params = _bucket_update(calls, faults, start)
    statement = f"UPDATE market_resourcestanding SET {assignments} WHERE resource_id = %s RETURNING resource_id"  # noqa: S608
    _update_or_create(
        ResourceStanding, {"resource_id": resource_pk}, lambda: len(sql.execute(statement, [*params, resource_pk]))
    )


def _update_or_create(model, key: dict, update: Callable[[], int]) -> None:
    """Run `update` (how many rows it changed); when the row does not exist yet, create it (a
    concurrent creator wins harmlessly) and run it again."""
    if not update():
        model.objects.bulk_create([model(**key)], ignore_conflicts=True)
        update()


def _update_fields(model, key: dict, changes: dict) -> None:
    _update_or_create(model, key, lambda: model.objects.filter(**key).update(**changes))


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
        _record_bucket(pk, per_resource[pk, "calls"], per_resource[pk, "faults"], start)
    for actor_id in sorted({a for a, _ in per_provider}):
        n, faults = per_provider[actor_id, "calls"], per_provider[actor_id, "faults"]
        _update_fields(
            ProviderStanding, {"actor_id": actor_id}, {"calls": F("calls") + n, "faults": F("faults") + faults}
        )


def standing_record_call(*, resource_pk: int, provider_actor_id: str, error_code: str = "") -> None:
    standing_record_calls([(resource_pk, provider_actor_id, error_code)])


def standing_record_report(*, resource_pk: int, reported_at: datetime) -> None:
    """A signed report: the resource's freshness is its newest report's time."""
    at = Value(reported_at, output_field=DateTimeField())
    _update_fields(
        ResourceStanding,
        {"resource_id": resource_pk},
        {"last_reported_at": Greatest(Coalesce("last_reported_at", at), at)},
    )
