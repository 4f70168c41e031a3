"""Admin for monitoring: rules are edited through the rule service (audited), alerts are
acknowledged through the alert service; everything else is read-only."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from market.admin.base import ReadOnlyAdmin, admin_actor
from market.errors import MarketError
from market.models import (
    Alert,
    AlertNotification,
    AlertObservation,
    AlertRule,
    MetricReading,
    OperationFailure,
    OverviewSnapshot,
)
from market.selectors.monitor import METRICS
from market.services import monitor as monitor_services

EDITABLE = monitor_services.RULE_FIELDS


class AlertRuleForm(forms.ModelForm):
    metric = forms.ChoiceField(choices=[(name, f"{name} ({m.unit}): {m.description}") for name, m in METRICS.items()])

    class Meta:
        model = AlertRule
        fields = ("name", *EDITABLE)


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleForm
    # the name, what the service edits (but the long description), and the last evaluation
    list_display = ("name", *(f for f in EDITABLE if f != "description"), "last_value", "last_evaluated_at")
    list_filter = ("severity", "enabled")
    search_fields = ("name", "metric")
    readonly_fields = ("pending_since", "last_value", "last_evaluated_at", "created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "name") if obj else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False  # disable a rule instead: its alerts keep their history

    def save_model(self, request, obj, form, change):
        fields = {f: form.cleaned_data[f] for f in EDITABLE if f in form.cleaned_data}
        try:
            rule, _ = monitor_services.rule_upsert(by_actor_id=admin_actor(request), name=obj.name, **fields)
        except MarketError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        obj.pk = rule.pk


class ObservationInline(admin.TabularInline):
    model = AlertObservation
    extra = 0
    can_delete = False
    readonly_fields = ("at", "value", "kind")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = (
        "alert_id",
        "rule",
        "key",
        "severity",
        "status",
        "silenced",
        "value",
        "last_value",
        "fired_at",
        "acknowledged_by",
        "resolved_at",
    )
    list_filter = ("status", "severity", "silenced")
    search_fields = ("alert_id", "rule__name", "key")
    list_select_related = ("rule",)
    inlines = (ObservationInline,)
    actions = ("acknowledge",)

    @admin.action(description="Acknowledge the selected active alerts")
    def acknowledge(self, request, queryset):
        done = 0
        for alert_id in queryset.filter(status=Alert.Status.ACTIVE).values_list("alert_id", flat=True):
            try:
                monitor_services.alert_acknowledge(alert_id=alert_id, by_actor_id=admin_actor(request))
                done += 1
            except MarketError as exc:
                self.message_user(request, f"{alert_id}: {exc.message}", messages.WARNING)
        self.message_user(request, f"{done} alerts acknowledged")


@admin.register(AlertNotification)
class AlertNotificationAdmin(ReadOnlyAdmin):
    list_display = (
        "notification_id",
        "alert",
        "channel",
        "event",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "delivered_at",
    )
    list_filter = ("status", "channel", "event")
    search_fields = ("notification_id", "alert__alert_id")
    list_select_related = ("alert",)


@admin.register(OperationFailure)
class OperationFailureAdmin(ReadOnlyAdmin):
    list_display = ("operation", "kind", "correlation_id", "created_at")
    list_filter = ("kind", "operation")
    search_fields = ("correlation_id", "operation")


@admin.register(MetricReading)
class MetricReadingAdmin(ReadOnlyAdmin):
    list_display = ("metric", "value", "measured_at")


@admin.register(AlertObservation)
class AlertObservationAdmin(ReadOnlyAdmin):
    list_display = ("alert", "kind", "value", "at")
    list_select_related = ("alert",)


@admin.register(OverviewSnapshot)
class OverviewSnapshotAdmin(ReadOnlyAdmin):
    """The operator's overview as the monitor.overview job last stored it."""

    list_display = ("id", "computed_at", "took_ms")
