"""Monitoring on the wire: metric values (market.selectors.monitor.MetricValue), AlertRule (as
rule_list and rule_shown give it), Alert with its observations."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from market.models import Alert, AlertRule
from web3api.shapes.fields import BlankAsNull


class MetricOut(serializers.Serializer):
    name = serializers.CharField(source="metric.name")
    description = serializers.CharField(source="metric.description")
    unit = serializers.ChoiceField(source="metric.unit", choices=["count", "ratio", "seconds"])
    value = serializers.FloatField(allow_null=True, help_text="Null until the monitor job has read a costly metric.")
    windowSec = serializers.IntegerField(
        source="window_sec", allow_null=True, help_text="The window of a rate metric shown here."
    )
    details = serializers.DictField(help_text="What the metric names: the objects involved, the counts behind it.")
    measuredAt = serializers.DateTimeField(source="measured_at", allow_null=True)


class RuleOut(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    severity = serializers.ChoiceField(choices=AlertRule.Severity.values)
    metric = serializers.CharField()
    comparator = serializers.ChoiceField(choices=AlertRule.Comparator.values)
    threshold = serializers.FloatField()
    windowSec = serializers.IntegerField(source="window_sec")
    forSec = serializers.IntegerField(source="for_sec")
    enabled = serializers.BooleanField()
    silencedUntil = serializers.DateTimeField(source="silenced_until", allow_null=True)
    pendingSince = serializers.DateTimeField(
        source="pending_since", allow_null=True, help_text="Since when the condition has held."
    )
    lastValue = serializers.FloatField(source="last_value", allow_null=True)
    lastEvaluatedAt = serializers.DateTimeField(source="last_evaluated_at", allow_null=True)
    firingAlertId = serializers.SerializerMethodField(help_text="The rule's oldest unresolved alert, if any.")
    firingAlertIds = serializers.SerializerMethodField(
        help_text="Every unresolved alert of the rule (one per group of a grouped metric such as invariant_violations)."
    )

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_firingAlertId(self, rule: AlertRule) -> str | None:  # noqa: N802 - DRF names it after the field
        return rule.unresolved_alerts[0].alert_id if rule.unresolved_alerts else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_firingAlertIds(self, rule: AlertRule) -> list[str]:  # noqa: N802 - DRF names it after the field
        return [a.alert_id for a in rule.unresolved_alerts]


class ObservationOut(serializers.Serializer):
    at = serializers.DateTimeField()
    value = serializers.FloatField()
    kind = serializers.ChoiceField(choices=["fired", "seen", "resolved"])


class AlertOut(serializers.Serializer):
    alertId = serializers.CharField(source="alert_id")
    rule = serializers.CharField(source="rule.name")
    key = BlankAsNull(
        help_text="For a grouped metric, the group this alert is about (invariant_violations: the monitor); else null.",
    )
    severity = serializers.ChoiceField(choices=AlertRule.Severity.values)
    metric = serializers.CharField()
    comparator = serializers.ChoiceField(choices=AlertRule.Comparator.values)
    threshold = serializers.FloatField()
    status = serializers.ChoiceField(choices=Alert.Status.values)
    silenced = serializers.BooleanField(help_text="Fired while its rule was silenced: nobody was notified.")
    value = serializers.FloatField(help_text="The value when it fired.")
    lastValue = serializers.FloatField(source="last_value")
    peakValue = serializers.FloatField(source="peak_value")
    details = serializers.DictField(help_text="The objects involved, as the metric names them.")
    evaluations = serializers.IntegerField(help_text="Evaluations that found the condition holding.")
    firedAt = serializers.DateTimeField(source="fired_at")
    lastSeenAt = serializers.DateTimeField(source="last_seen_at")
    acknowledgedAt = serializers.DateTimeField(source="acknowledged_at", allow_null=True)
    acknowledgedBy = BlankAsNull(source="acknowledged_by")
    resolvedAt = serializers.DateTimeField(source="resolved_at", allow_null=True)
    observations = ObservationOut(many=True, help_text="The values seen: at firing, on each change, at resolution.")
