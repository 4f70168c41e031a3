"""Monitoring reads: the metrics alert rules watch, and the rules and alert history.

Every metric is computed from the database, so any process (web, worker, beat) sees the same
value, however many there are. A metric is a function (now, window_sec) -> Reading; `window_sec`
matters to the rate metrics only. The invariant monitors are in market.selectors.invariants.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import django_filters
from django.conf import settings
from django.db.models import Count, Min, Prefetch, Q, QuerySet
from django.utils import timezone

from market.errors import InvalidArgument
from market.models import (
    Alert,
    AlertRule,
    Dispute,
    Invocation,
    OperationFailure,
    Settlement,
    Transfer,
)
from market.selectors.audit import audit_health
from market.selectors.invariants import NAMED_MAX, invariant_checks, overdue_leases, overdue_receipts


@dataclass
class Reading:
    value: Decimal
    details: dict[str, Any] = field(default_factory=dict)
    # A grouped metric also gives a reading per group (key -> reading); a rule on it keeps one alert
    # per group that holds, so a new kind of violation is a new alert (and a new notification).
    groups: dict[str, Reading] | None = None


@dataclass(frozen=True)
class Metric:
    name: str
    description: str
    unit: str
    fn: Callable[[datetime, int], Reading]
    uses_window: bool = False
    expensive: bool = False  # computed by monitor.evaluate only; others show its last reading


def _d(value: Any) -> Decimal:
    return Decimal(value or 0)


def _ratio(part: int, whole: int) -> Decimal:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.000001")) if whole else Decimal(0)


# --- metrics ----------------------------------------------------------------------------------------
def settlement_failure_rate(now: datetime, window_sec: int) -> Reading:
    """Failed money operations / (failed + transfers written) in the window: every money operation
    that succeeds writes at least one transfer (a lock, release, refund, deposit, withdrawal)."""
    since = now - timedelta(seconds=window_sec)
    failures = OperationFailure.objects.filter(created_at__gt=since, created_at__lte=now)
    failed = failures.count()
    moved = Transfer.objects.filter(created_at__gt=since, created_at__lte=now).count()
    ops = sorted(set(failures.values_list("operation", flat=True)[:NAMED_MAX]))
    return Reading(_ratio(failed, failed + moved), {"failed": failed, "transfers": moved, "operations": ops})


def ledger_failures(now: datetime, window_sec: int) -> Reading:
    since = now - timedelta(seconds=window_sec)
    return Reading(_d(OperationFailure.objects.filter(created_at__gt=since, created_at__lte=now).count()))


def settlements_past_due(now: datetime, window_sec: int) -> Reading:
    """Open settlements whose lease has expired or whose receipt's payout time has passed."""
    leases = overdue_leases(now).filter(settlement__status__in=Settlement.OPEN)
    receipts = overdue_receipts(now).filter(settlement__status__in=Settlement.OPEN)
    named = [
        *leases.values_list("settlement__settlement_id", flat=True)[:NAMED_MAX],
        *receipts.values_list("settlement__settlement_id", flat=True)[:NAMED_MAX],
    ]
    return Reading(_d(leases.count() + receipts.count()), {"settlements": named[:NAMED_MAX]})


def lease_invoke_failure_rate(now: datetime, window_sec: int) -> Reading:
    """Failed / finished invocations started in the window (provider down, 5xx, timeout)."""
    since = now - timedelta(seconds=window_sec)
    started = Invocation.objects.filter(started_at__gt=since, started_at__lte=now)
    counts = started.aggregate(
        failed=Count("pk", filter=Q(status=Invocation.Status.FAILED)),
        done=Count("pk", filter=Q(status__in=(Invocation.Status.FAILED, Invocation.Status.SUCCEEDED))),
    )
    named = (
        list(
            started.filter(status=Invocation.Status.FAILED)
            .order_by("resource__resource_id")
            .values_list("resource__resource_id", flat=True)
            .distinct()[:NAMED_MAX]
        )
        if counts["failed"]
        else []
    )
    return Reading(
        _ratio(counts["failed"], counts["done"]),
        {"failed": counts["failed"], "finished": counts["done"], "resources": named},
    )


def audit_unsealed(now: datetime, window_sec: int) -> Reading:
    """Events past the last checkpoint; the details name the first (its seq) and its age."""
    health = audit_health(now)
    sealed = health["lastCheckpoint"].tree_size if health["lastCheckpoint"] else 0
    details = {"fromSeq": sealed, "oldestAgeSec": health["unsealedAgeSec"]} if health["unsealed"] else {}
    return Reading(_d(health["unsealed"]), details)


def audit_unsealed_age(now: datetime, window_sec: int) -> Reading:
    return Reading(_d(audit_health(now)["unsealedAgeSec"]))


def audit_unsequenced_age(now: datetime, window_sec: int) -> Reading:
    """Age of the oldest committed audit event still waiting for its position (the sequencer's lag)."""
    health = audit_health(now)
    details = {"waiting": health["unsequenced"]} if health["unsequenced"] else {}
    return Reading(_d(health["unsequencedAgeSec"]), details)


def anchor_lag(now: datetime, window_sec: int) -> Reading:
    """Seconds since the oldest checkpoint still waiting for its anchor was written (0: none)."""
    from market.models import CheckpointAnchor

    health = audit_health(now)
    details: dict[str, Any] = {"waiting": health["anchorsWaiting"]}
    if health["anchorsWaiting"]:
        waiting = CheckpointAnchor.objects.exclude(status=CheckpointAnchor.Status.ANCHORED)
        details["checkpoints"] = list(
            waiting.order_by("checkpoint__tree_size").values_list("checkpoint__tree_size", flat=True)[:NAMED_MAX]
        )
        details["lastError"] = health["lastAnchorError"]
    return Reading(_d(health["anchorLagSec"]), details)


def anchor_failures(now: datetime, window_sec: int) -> Reading:
    """Checkpoints whose anchoring has failed at least once and is still not done."""
    from market.models import CheckpointAnchor

    waiting = CheckpointAnchor.objects.exclude(status=CheckpointAnchor.Status.ANCHORED).exclude(last_error="")
    return Reading(_d(waiting.count()))


def disputes_open(now: datetime, window_sec: int) -> Reading:
    live = Dispute.objects.filter(status__in=Dispute.LIVE)
    return Reading(
        _d(live.count()), {"disputes": list(live.order_by("pk").values_list("dispute_id", flat=True)[:NAMED_MAX])}
    )


def disputes_past_window(now: datetime, window_sec: int) -> Reading:
    """Rulings whose appeal window has passed and that are not paid out yet."""
    qs = Dispute.objects.filter(
        status__in=(Dispute.Status.RESOLVED, Dispute.Status.REJECTED), paid_out_at__isnull=True, appeal_deadline__lt=now
    )
    return Reading(_d(qs.count()), {"disputes": list(qs.values_list("dispute_id", flat=True)[:NAMED_MAX])})


def dispute_unresolved_age(now: datetime, window_sec: int) -> Reading:
    """Seconds the oldest dispute awaiting a ruling (open or appealed) has been waiting."""
    live = Dispute.objects.filter(status__in=Dispute.LIVE)
    oldest = live.aggregate(t=Min("created_at"))["t"]
    if oldest is None:
        return Reading(Decimal(0))
    named = list(live.order_by("created_at", "pk").values_list("dispute_id", flat=True)[:NAMED_MAX])  # oldest first
    return Reading(_d(int((now - oldest).total_seconds())), {"disputes": named})


def invariant_violations(now: datetime, window_sec: int) -> Reading:
    """Grouped by monitor: each broken invariant is an alert of its own, naming its objects."""
    found = invariant_checks(now)
    groups = {v["monitor"]: Reading(_d(v["count"]), {"violations": [v]}) for v in found}
    return Reading(_d(sum(v["count"] for v in found)), {"violations": found}, groups=groups)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "settlement_failure_rate",
            "failed money operations / (failed + transfers written) in the window",
            "ratio",
            settlement_failure_rate,
            uses_window=True,
        ),
        Metric(
            "ledger_failures",
            "money operations that failed for the market's reasons in the window",
            "count",
            ledger_failures,
            uses_window=True,
        ),
        Metric(
            "settlements_past_due",
            "open settlements whose lease expired or whose payout time passed",
            "count",
            settlements_past_due,
        ),
        Metric(
            "lease_invoke_failure_rate",
            "failed / finished invocations started in the window",
            "ratio",
            lease_invoke_failure_rate,
            uses_window=True,
        ),
        Metric("audit_unsealed_events", "audit events not yet sealed in a checkpoint", "count", audit_unsealed),
        Metric("audit_unsealed_age_seconds", "age of the oldest unsealed audit event", "seconds", audit_unsealed_age),
        Metric(
            "audit_unsequenced_age_seconds",
            "age of the oldest audit event waiting for its position in the log",
            "seconds",
            audit_unsequenced_age,
        ),
        Metric(
            "anchor_lag_seconds", "age of the oldest checkpoint not yet anchored on the chain", "seconds", anchor_lag
        ),
        Metric("anchor_failures", "checkpoints whose anchoring failed and is not done yet", "count", anchor_failures),
        Metric("disputes_open", "disputes awaiting a ruling (open or appealed)", "count", disputes_open),
        Metric(
            "disputes_past_window", "rulings past their appeal window, not yet paid out", "count", disputes_past_window
        ),
        Metric(
            "dispute_unresolved_seconds",
            "how long the oldest dispute awaiting a ruling has waited",
            "seconds",
            dispute_unresolved_age,
        ),
        Metric(
            "invariant_violations",
            "objects breaking a ledger invariant or stuck in a state",
            "count",
            invariant_violations,
            expensive=True,
        ),
    )
}


# --- rules and alerts -------------------------------------------------------------------------------
def _unresolved_in_order() -> QuerySet[Alert]:
    return Alert.objects.filter(status__in=Alert.UNRESOLVED).order_by("fired_at", "pk")


def rule_list() -> QuerySet[AlertRule]:
    """Every rule, each with `unresolved_alerts` (as rule_shown gives it)."""
    return AlertRule.objects.order_by("severity", "name").prefetch_related(
        Prefetch("alerts", queryset=_unresolved_in_order(), to_attr="unresolved_alerts")
    )


def rule_shown(rule: AlertRule) -> AlertRule:
    """The rule with `unresolved_alerts`: its alerts not yet resolved, oldest first (several for a
    grouped metric)."""
    rule.unresolved_alerts = list(_unresolved_in_order().filter(rule=rule))
    return rule


def firing_alerts() -> QuerySet[Alert]:
    return (
        Alert.objects.filter(status__in=Alert.UNRESOLVED).select_related("rule").order_by("severity", "fired_at", "pk")
    )


class AlertFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Alert.Status.choices)
    severity = django_filters.ChoiceFilter(choices=AlertRule.Severity.choices)
    rule = django_filters.CharFilter(field_name="rule__name")
    since = django_filters.IsoDateTimeFilter(field_name="fired_at", lookup_expr="gte")

    class Meta:
        model = Alert
        fields = ["status", "severity", "rule", "since"]


def alert_history(*, filters: dict[str, Any]) -> QuerySet[Alert]:
    qs = Alert.objects.select_related("rule").prefetch_related("observations")
    fs = AlertFilter({k: v for k, v in filters.items() if v not in (None, "")}, queryset=qs)
    if not fs.is_valid():
        raise InvalidArgument("invalid filter", details={"fields": {k: str(v[0]) for k, v in fs.errors.items()}})
    return fs.qs


@dataclass(frozen=True)
class MetricValue:
    """One metric's value as shown to staff and to the scraper: `window_sec` is the window a rate
    metric is shown over (None for the others); `measured_at` is None for a costly metric the
    monitor job has not read yet (then `value` is None too)."""

    metric: Metric
    value: Decimal | None
    window_sec: int | None
    details: dict[str, Any]
    measured_at: datetime | None


def metric_values(now: datetime | None = None) -> list[MetricValue]:
    """Every metric: live, or the monitor.evaluate job's last reading for the costly ones."""
    from market.models import MetricReading

    now = now or timezone.now()
    stored = {r.metric: r for r in MetricReading.objects.all()}
    out = []
    for m in METRICS.values():
        if m.expensive:
            r = stored.get(m.name)
            value, details, at = (r.value, r.details, r.measured_at) if r else (None, {}, None)
        else:
            reading = m.fn(now, 300)
            value, details, at = reading.value, reading.details, now
        out.append(MetricValue(m, value, 300 if m.uses_window else None, details, at))
    return out


def monitor_health(now: datetime | None = None) -> dict[str, Any]:
    """Is the alerting itself working? When the rules were last evaluated (beat and a worker must
    run for that), and the notifications not delivered: still retrying, or given up in the last day."""
    from django.db.models import Max

    from market.models import AlertNotification

    now = now or timezone.now()
    last = AlertRule.objects.filter(enabled=True).aggregate(t=Max("last_evaluated_at"))["t"]
    notes = AlertNotification.objects
    day_ago = now - timedelta(days=1)
    late = timedelta(seconds=3 * settings.WEB3_SWEEP_INTERVAL_SEC)
    # One rule can stop being evaluated while the others are (its metric fails every time): counted
    # from its last evaluation, or from its last change when that is later (created, re-enabled).
    stale_rules = [
        name
        for name, evaluated, changed in AlertRule.objects.filter(enabled=True)
        .order_by("name")
        .values_list("name", "last_evaluated_at", "updated_at")
        if now - max(evaluated or changed, changed) > late
    ]
    return {
        "lastEvaluatedAt": last,
        "evaluationAgeSec": int((now - last).total_seconds()) if last else None,
        "stale": last is None or now - last > late,
        "staleRules": stale_rules,
        "retrying": notes.filter(status=AlertNotification.Status.PENDING, attempts__gt=0).count(),
        "givenUp": notes.filter(status=AlertNotification.Status.FAILED, created_at__gte=day_ago).count(),
        "enabledRules": AlertRule.objects.filter(enabled=True).count(),
    }
