"""Monitoring: alert rules over the market's metrics, the alerts they raise, what each alert saw,
the notifications it sent, and the operation failures the failure-rate metric counts.

After OpenSearch Alerting: monitor (market.selectors.monitor computes the metrics and invariant
checks) -> rule (AlertRule) -> notification (AlertNotification, an outbox) -> history (Alert and
its AlertObservations). A rule's evaluation state (pending since, last value) lives on the rule.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from market.models.constraints import status_check


class AlertRule(models.Model):
    class Severity(models.TextChoices):
        P0 = "P0"
        P1 = "P1"

    class Comparator(models.TextChoices):
        GT = "gt", ">"
        GTE = "gte", ">="
        LT = "lt", "<"
        LTE = "lte", "<="
        EQ = "eq", "=="
        NE = "ne", "!="

    name = models.CharField(max_length=80, unique=True)
    description = models.CharField(max_length=300, blank=True, default="")
    severity = models.CharField(max_length=2, choices=Severity.choices)
    metric = models.CharField(max_length=60, help_text="A metric of market.selectors.monitor.METRICS.")
    comparator = models.CharField(max_length=3, choices=Comparator.choices, default=Comparator.GT)
    threshold = models.DecimalField(max_digits=20, decimal_places=6)
    window_sec = models.PositiveIntegerField(default=300, help_text="The window a rate metric looks back over.")
    for_sec = models.PositiveIntegerField(default=0, help_text="How long the condition must hold before it fires.")
    enabled = models.BooleanField(default=True)
    silenced_until = models.DateTimeField(
        null=True, blank=True, help_text="Until then an alert is still recorded, but nobody is notified."
    )
    # evaluation state, written by the evaluator only
    pending_since = models.DateTimeField(null=True, blank=True)
    last_value = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(severity__in=["P0", "P1"]), name="%(app_label)s_%(class)s_severity"),
            models.CheckConstraint(
                condition=Q(comparator__in=["gt", "gte", "lt", "lte", "eq", "ne"]),
                name="%(app_label)s_%(class)s_comparator",
            ),
            models.CheckConstraint(
                condition=Q(window_sec__gte=60, window_sec__lte=86400 * 7), name="%(app_label)s_%(class)s_window"
            ),
            models.CheckConstraint(condition=Q(for_sec__lte=86400), name="%(app_label)s_%(class)s_for"),
        ]

    def __str__(self) -> str:
        return self.name


class Alert(models.Model):
    """One firing of a rule, from the evaluation that found it held for its for-duration to the one
    that found it clear. At most one unresolved alert per rule and key (the dedupe). The key is
    empty, except for a metric read in groups (invariant_violations: one group per monitor), where
    each group that holds is an alert of its own, keyed by the group's name."""

    class Status(models.TextChoices):
        ACTIVE = "alert_active"
        ACKNOWLEDGED = "alert_acknowledged"
        RESOLVED = "alert_resolved"

    UNRESOLVED = (Status.ACTIVE, Status.ACKNOWLEDGED)

    alert_id = models.CharField(max_length=40, unique=True)
    rule = models.ForeignKey(AlertRule, on_delete=models.PROTECT, related_name="alerts")
    key = models.CharField(
        max_length=80,
        blank=True,
        default="",
        help_text="The group of a grouped metric this alert is about (e.g. the monitor).",
    )
    # the rule as it was when the alert fired
    severity = models.CharField(max_length=2, choices=AlertRule.Severity.choices)
    metric = models.CharField(max_length=60)
    comparator = models.CharField(max_length=3, choices=AlertRule.Comparator.choices)
    threshold = models.DecimalField(max_digits=20, decimal_places=6)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    silenced = models.BooleanField(default=False)
    value = models.DecimalField(max_digits=24, decimal_places=6, help_text="The value when it fired.")
    last_value = models.DecimalField(max_digits=24, decimal_places=6)
    peak_value = models.DecimalField(max_digits=24, decimal_places=6)
    details = models.JSONField(default=dict, blank=True, help_text="What the metric named: the objects involved.")
    evaluations = models.PositiveIntegerField(default=1, help_text="Evaluations that found it holding.")
    fired_at = models.DateTimeField(db_index=True)
    last_seen_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=42, blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            status_check("alert_active", "alert_acknowledged", "alert_resolved"),
            models.UniqueConstraint(
                fields=["rule", "key"],
                condition=Q(status__in=["alert_active", "alert_acknowledged"]),
                name="%(app_label)s_%(class)s_one_unresolved_per_rule_key",
            ),
        ]
        indexes = [models.Index(fields=["status", "severity"])]

    def __str__(self) -> str:
        return self.alert_id


class AlertObservation(models.Model):
    """A value an alert saw: when it fired, each time the value changed while it held, and when it
    cleared."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="observations")
    at = models.DateTimeField()
    value = models.DecimalField(max_digits=24, decimal_places=6)
    kind = models.CharField(max_length=10, default="seen", help_text="fired | seen | resolved")

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["alert", "at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.value} at {self.at}"


class AlertNotification(models.Model):
    """The outbox of alert notifications: one row per channel and event, delivered by a Celery job
    (market.jobs) and retried with backoff by it and by the monitor.notify sweep."""

    class Status(models.TextChoices):
        PENDING = "notify_pending"
        DELIVERED = "notify_delivered"
        FAILED = "notify_failed"

    class Channel(models.TextChoices):
        WEBHOOK = "webhook"
        EMAIL = "email"

    notification_id = models.CharField(max_length=40, unique=True)
    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="notifications")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    event = models.CharField(max_length=20, help_text="alert.fired | alert.resolved")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_error = models.CharField(max_length=200, blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            status_check("notify_pending", "notify_delivered", "notify_failed"),
            models.CheckConstraint(
                condition=Q(channel__in=["webhook", "email"]), name="%(app_label)s_%(class)s_channel"
            ),
            models.UniqueConstraint(fields=["alert", "channel", "event"], name="%(app_label)s_%(class)s_once"),
        ]

    def __str__(self) -> str:
        return self.notification_id


class OperationFailure(models.Model):
    """A money operation that failed for a reason of the market's, not the caller's: an unexpected
    error or exhausted deadlock retries (a refused lock is the caller's and is not recorded).
    Written after the failed transaction rolled back, so it survives it."""

    operation = models.CharField(max_length=80, help_text="The web3.* method or periodic job.")
    kind = models.CharField(max_length=20, help_text="internal | retries_exhausted")
    correlation_id = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.operation} {self.kind}"


class MetricReading(models.Model):
    """The last value the monitor.evaluate job read of each metric: how /metrics and
    web3.monitor.metrics show the metrics too costly to compute on every request."""

    metric = models.CharField(max_length=60, unique=True)
    value = models.DecimalField(max_digits=24, decimal_places=6)
    details = models.JSONField(default=dict, blank=True)
    measured_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.metric}={self.value}"
