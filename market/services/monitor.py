"""Monitoring writes: rule upserts, acknowledgements, recorded failures, and the evaluation job.

Evaluation (`monitor_evaluate`, beat and run_sweeps every minute): each metric a rule watches is
read once; then, rule by rule in its own transaction with the rule row locked, an alert fires when
the condition has held for the rule's for-duration, is updated (not duplicated) while it holds and
is resolved when it clears. At most one unresolved alert per rule, also in the database, so two
evaluators at once fire it once. Notifications are written to the outbox in the same transaction
and handed after commit to a Celery job (market.jobs; market.services.notify delivers them);
evaluation never waits on them.
"""

from __future__ import annotations

import logging
import operator
from contextlib import nullcontext
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from market import locks, states
from market.audit.log import audit_record
from market.errors import InvalidArgument, NotFound
from market.ids import new_id
from market.jobs import notification_deliver_task
from market.models import (
    Alert,
    AlertNotification,
    AlertObservation,
    AlertRule,
    AuditEvent,
    MetricReading,
    OperationFailure,
)
from market.selectors.monitor import METRICS, Reading

log = logging.getLogger("market.monitor")

SYSTEM = "system"
# A rule's name is the object id of its audit events, so it is no longer than one (the AlertRule
# column allows 80, which the admin form offers).
RULE_NAME_MAX = AuditEvent._meta.get_field("object_id").max_length
COMPARE = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "eq": operator.eq,
    "ne": operator.ne,
}
RULE_FIELDS = (
    "description",
    "severity",
    "metric",
    "comparator",
    "threshold",
    "window_sec",
    "for_sec",
    "enabled",
    "silenced_until",
)


def failure_record(*, operation: str, kind: str, correlation_id: str = "") -> None:
    """Count a money operation that failed for the market's reasons. Call after its transaction
    rolled back; a failure to record is logged, never raised over the original failure."""
    try:
        OperationFailure.objects.create(operation=operation[:80], kind=kind, correlation_id=correlation_id)
    except Exception:  # noqa: BLE001 - the caller is already reporting a failure
        log.exception("could not record the failure of %s", operation)


# --- rules ------------------------------------------------------------------------------------------
def _rule_payload(rule: AlertRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "severity": rule.severity,
        "metric": rule.metric,
        "comparator": rule.comparator,
        "threshold": str(rule.threshold),
        "windowSec": rule.window_sec,
        "forSec": rule.for_sec,
        "enabled": rule.enabled,
        "silencedUntil": rule.silenced_until.isoformat() if rule.silenced_until else None,
    }


def rule_upsert(*, by_actor_id: str, name: str, **fields: Any) -> tuple[AlertRule, bool]:
    """Create the rule called `name`, or change the fields given of the existing one."""
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ValueError(f"unknown rule fields: {sorted(unknown)}")
    if "metric" in fields and fields["metric"] not in METRICS:
        raise InvalidArgument.field("metric", f"unknown metric; one of {', '.join(METRICS)}")
    if len(name) > RULE_NAME_MAX:
        raise InvalidArgument.field("name", f"at most {RULE_NAME_MAX} characters (it names the rule in the audit log)")
    with transaction.atomic():
        rule = locks.lock_alert_rule(name=name)
        created = rule is None
        if created:
            missing = [f for f in ("severity", "metric", "threshold") if fields.get(f) is None]
            if missing:
                raise InvalidArgument(
                    f"a new rule needs {', '.join(missing)}",
                    details={"fields": {f: "required for a new rule" for f in missing}},
                )
            rule = AlertRule(name=name)
        for key, value in fields.items():
            setattr(rule, key, value)
        rule.save()
        audit_record(
            actor_id=by_actor_id,
            action="alert_rule.create" if created else "alert_rule.update",
            object_type="alert_rule",
            object_id=name,
            payload=_rule_payload(rule),
        )
    return rule, created


# --- alerts -----------------------------------------------------------------------------------------
def alert_acknowledge(*, alert_id: str, by_actor_id: str, now: datetime | None = None) -> Alert:
    now = now or timezone.now()
    with transaction.atomic():
        alert = locks.lock_alert(alert_id=alert_id)
        if alert is None:
            raise NotFound("no such alert")
        alert.acknowledged_at, alert.acknowledged_by = now, by_actor_id
        states.transition(alert, "acknowledge", update_fields=["acknowledged_at", "acknowledged_by"])
        audit_record(
            actor_id=by_actor_id,
            action="alert.acknowledge",
            object_type="alert",
            object_id=alert_id,
            payload={"rule": alert.rule.name, "severity": alert.severity},
        )
    return alert


def _observe(alert: Alert, now: datetime, value: Decimal, kind: str) -> None:
    AlertObservation.objects.create(alert=alert, at=now, value=value, kind=kind)


def _fire(rule: AlertRule, key: str, reading: Reading, now: datetime) -> Alert:
    silenced = bool(rule.silenced_until and rule.silenced_until > now)
    alert = Alert.objects.create(
        alert_id=new_id("alr"),
        rule=rule,
        key=key,
        severity=rule.severity,
        metric=rule.metric,
        comparator=rule.comparator,
        threshold=rule.threshold,
        silenced=silenced,
        value=reading.value,
        last_value=reading.value,
        peak_value=reading.value,
        details=reading.details,
        fired_at=now,
        last_seen_at=now,
    )
    _observe(alert, now, reading.value, "fired")
    audit_record(
        actor_id=SYSTEM,
        action="alert.fire",
        object_type="alert",
        object_id=alert.alert_id,
        payload={
            "rule": rule.name,
            "key": key,
            "severity": rule.severity,
            "metric": rule.metric,
            "value": str(reading.value),
            "threshold": str(rule.threshold),
            "silenced": silenced,
        },
    )
    if not silenced:
        notifications_queue(alert=alert, event="alert.fired", now=now)
    return alert


def channels() -> list[str]:
    out = []
    if settings.WEB3_ALERT_WEBHOOK_URL:
        out.append(AlertNotification.Channel.WEBHOOK)
    if settings.WEB3_ALERT_EMAILS:
        out.append(AlertNotification.Channel.EMAIL)
    return out


def notifications_queue(*, alert: Alert, event: str, now: datetime) -> list[AlertNotification]:
    """Inside the alert's transaction: one outbox row per channel, handed to the job after commit."""
    rows = [
        AlertNotification.objects.create(
            notification_id=new_id("ntf"), alert=alert, channel=channel, event=event, next_attempt_at=now
        )
        for channel in channels()
    ]
    ids = [r.notification_id for r in rows]
    if ids:
        transaction.on_commit(lambda: _enqueue(ids))
    return rows


def _enqueue(ids: list[str]) -> None:
    for notification_id in ids:
        try:
            notification_deliver_task.delay(notification_id)
        except Exception:  # noqa: BLE001 - the outbox row stays; the monitor.notify sweep sends it
            log.exception("could not queue alert notification %s; the sweep will send it", notification_id)


def _still_firing(rule: AlertRule, alert: Alert, reading: Reading, now: datetime) -> None:
    if alert.silenced and not (rule.silenced_until and rule.silenced_until > now):
        # It fired during a silence that has ended and it still holds: now it is told, once.
        alert.silenced = False
        alert.save(update_fields=["silenced", "updated_at"])
        notifications_queue(alert=alert, event="alert.fired", now=now)
    if reading.value != alert.last_value:
        _observe(alert, now, reading.value, "seen")
    alert.last_value, alert.last_seen_at, alert.details = reading.value, now, reading.details
    alert.peak_value = (
        max(alert.peak_value, reading.value)
        if alert.comparator in ("gt", "gte")
        else min(alert.peak_value, reading.value)
    )
    alert.evaluations += 1
    alert.save(update_fields=["last_value", "last_seen_at", "details", "peak_value", "evaluations", "updated_at"])


def _resolve(alert: Alert, value: Decimal | None, now: datetime, why: str) -> None:
    alert.resolved_at = now
    if value is not None:
        alert.last_value = value  # the value that cleared it
        _observe(alert, now, value, "resolved")
    states.transition(alert, "resolve", update_fields=["resolved_at", "last_value"])
    audit_record(
        actor_id=SYSTEM,
        action="alert.resolve",
        object_type="alert",
        object_id=alert.alert_id,
        payload={
            "rule": alert.rule.name,
            "key": alert.key,
            "severity": alert.severity,
            "why": why,
            "value": None if value is None else str(value),
        },
    )
    if alert.notifications.filter(event="alert.fired").exists():  # whoever was told it fired is told it cleared
        notifications_queue(alert=alert, event="alert.resolved", now=now)


def rule_evaluate(*, rule_id: int, reading: Reading | None, now: datetime) -> str:
    """Apply one reading to one rule. Returns fired | firing | resolved | pending | clear | disabled
    (for a grouped metric: the most notable outcome over its groups), or stale when a reading taken
    later has already been applied.

    A plain metric is one series (key ""); a grouped one is a series per group, each with its own
    alert. The for-duration counts from when the rule's condition first held for any series."""
    with transaction.atomic():
        rule = locks.lock_alert_rule(pk=rule_id)
        alerts = {a.key: a for a in locks.lock_alerts_of_rule(rule)}
        if not rule.enabled or reading is None:
            for alert in alerts.values():
                _resolve(alert, None, now, "the rule was disabled")
            rule.pending_since = None
            rule.save(update_fields=["pending_since", "updated_at"])
            return "disabled"
        if rule.last_evaluated_at and now < rule.last_evaluated_at:
            # A slower evaluator's older reading: a newer one is already applied (it would fire
            # again what that one resolved, or resolve what it fired).
            return "stale"
        series = reading.groups if reading.groups is not None else {"": reading}
        holding = {key: r for key, r in series.items() if COMPARE[rule.comparator](r.value, rule.threshold)}
        rule.pending_since = (rule.pending_since or now) if holding else None
        due = bool(holding) and now - rule.pending_since >= timedelta(seconds=rule.for_sec)
        outcomes = set()
        for key, r in holding.items():
            if key in alerts:
                _still_firing(rule, alerts[key], r, now)
                outcomes.add("firing")
            elif due:
                _fire(rule, key, r, now)
                outcomes.add("fired")
            else:
                outcomes.add("pending")
        for key, alert in alerts.items():
            if key not in holding:
                cleared = series.get(key)
                _resolve(alert, cleared.value if cleared else Decimal(0), now, "the condition cleared")
                outcomes.add("resolved")
        rule.last_value, rule.last_evaluated_at = reading.value, now
        rule.save(update_fields=["pending_since", "last_value", "last_evaluated_at", "updated_at"])
    return next((o for o in ("fired", "resolved", "firing", "pending") if o in outcomes), "clear")


def monitor_evaluate(*, now: datetime | None = None) -> dict[str, int]:
    """Read every metric the rules watch (and the invariant monitors), then evaluate each rule.

    A metric that cannot be read, or a rule that cannot be applied, is logged and counted as an
    error; it never stops the other rules (one broken metric must not silence every alert)."""
    now = now or timezone.now()
    readings: dict[tuple[str, int], Reading] = {}

    def read(metric: str, window_sec: int) -> Reading:
        key = (metric, window_sec if METRICS[metric].uses_window else 0)
        if key not in readings:
            # Reads run in autocommit (on SQLite a transaction would take the write lock for the
            # scan); inside a caller's transaction, a savepoint lets a failed read roll back alone.
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                readings[key] = METRICS[metric].fn(now, window_sec)
        return readings[key]

    counts: dict[str, int] = {}
    for m in METRICS.values():
        if m.expensive:
            try:
                r = read(m.name, 300)
            except Exception:  # noqa: BLE001 - logged and counted; the rules still run
                log.exception("metric %s could not be read", m.name)
                counts["error"] = counts.get("error", 0) + 1
                continue
            try:
                MetricReading.objects.update_or_create(
                    metric=m.name, defaults={"value": r.value, "details": r.details, "measured_at": now}
                )
            except IntegrityError:  # a concurrent evaluator's first reading: it has just written one
                log.info("metric %s: reading written by a concurrent evaluator", m.name)
    for rule in AlertRule.objects.order_by("pk"):
        try:
            reading = read(rule.metric, rule.window_sec) if rule.enabled and rule.metric in METRICS else None
            if rule.enabled and reading is None:
                log.error("alert rule %s watches an unknown metric %s", rule.name, rule.metric)
            outcome = rule_evaluate(rule_id=rule.pk, reading=reading, now=now)
        except Exception:  # noqa: BLE001 - logged and counted; the other rules still run
            log.exception("alert rule %s could not be evaluated", rule.name)
            outcome = "error"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def default_rules_install() -> int:
    """Create whichever default rules are missing (a flushed database, a test); returns how many."""
    from market import monitor_defaults

    return monitor_defaults.install(AlertRule)
