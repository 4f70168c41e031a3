"""web3.monitor.metrics|listRules|upsertRule|history|acknowledge (staff), and the monitoring status
part."""

from rest_framework import serializers

from market.models import Alert, AlertRule
from market.selectors import monitor as monitor_selectors
from market.services import monitor as monitor_services
from web3api import status
from web3api.pagination import paginate
from web3api.registry import method
from web3api.serializers import (
    Params,
    StrictCharField,
    StrictDateTimeField,
    StrictDecimalField,
    cursor_field,
    id_field,
    limit_field,
)
from web3api.shapes.monitor import AlertOut, MetricOut, RuleOut

STAFF = ["staff only"]
NEW_RULE = "Needed to create a rule (E_INVALID_ARGUMENT without it), not to change one."
RULE_NAME = {
    "max_length": monitor_services.RULE_NAME_MAX,
    "help_text": "The rule's unique name (lowercase letters, digits, . _ -).",
}


class MetricsOut(serializers.Serializer):
    metrics = MetricOut(many=True)


class NoParams(Params):
    pass


@method(
    name="web3.monitor.metrics",
    summary="The value of every metric the alert rules can watch.",
    group="monitor",
    read_only=True,
    auth="staff",
    params=NoParams,
    result=MetricsOut,
    permissions=STAFF,
    description="Costly metrics (invariant_violations) show the monitor job's last reading and its time; "
    "the others are read now. Rate metrics are shown over 5 minutes; a rule chooses its own window.",
)
def metrics(call, params):
    return {"metrics": monitor_selectors.metric_values()}


class RuleListOut(serializers.Serializer):
    items = RuleOut(many=True)


@method(
    name="web3.monitor.listRules",
    summary="Every alert rule with its evaluation state.",
    group="monitor",
    read_only=True,
    auth="staff",
    params=NoParams,
    result=RuleListOut,
    permissions=STAFF,
)
def list_rules(call, params):
    return {"items": monitor_selectors.rule_list()}


class UpsertRuleParams(Params):
    name = serializers.RegexField(r"^[a-z0-9][a-z0-9._-]*$", **RULE_NAME)
    description = StrictCharField(max_length=300, required=False, allow_blank=True)
    severity = serializers.ChoiceField(choices=AlertRule.Severity.values, required=False, help_text=NEW_RULE)
    metric = serializers.ChoiceField(choices=list(monitor_selectors.METRICS), required=False, help_text=NEW_RULE)
    comparator = serializers.ChoiceField(choices=AlertRule.Comparator.values, required=False)
    threshold = StrictDecimalField(
        max_digits=20,
        decimal_places=6,
        required=False,
        help_text="A number (or a decimal string) the metric is compared with; a number "
        "is rounded to 6 decimals, a string has at most 6. " + NEW_RULE,
    )
    windowSec = serializers.IntegerField(
        min_value=60, max_value=7 * 86400, required=False, help_text="Window of a rate metric (default 300)."
    )
    forSec = serializers.IntegerField(
        min_value=0,
        max_value=86400,
        required=False,
        help_text="How long the condition must hold before the alert fires (default 0).",
    )
    enabled = serializers.BooleanField(required=False)
    silencedUntil = StrictDateTimeField(
        required=False,
        allow_null=True,
        help_text="Until then alerts are recorded but nobody is notified; null lifts the silence.",
    )


# The rule, with `created` as upsert_rule sets it on the instance.
class UpsertRuleOut(RuleOut):
    created = serializers.BooleanField()


FIELD_NAMES = {"windowSec": "window_sec", "forSec": "for_sec", "silencedUntil": "silenced_until"}


@method(
    name="web3.monitor.upsertRule",
    idempotent=True,
    summary="Create an alert rule, or change the given fields of one, by name.",
    group="monitor",
    auth="staff",
    params=UpsertRuleParams,
    result=UpsertRuleOut,
    permissions=STAFF,
    risk="medium",
    errors=["E_INVALID_ARGUMENT"],
    unexpressible={
        field: "a new rule needs it, an existing one does not (whether the rule exists is the market's state)"
        for field in ("severity", "metric", "threshold")
    },
    description="A new rule needs severity, metric and threshold (E_INVALID_ARGUMENT naming the missing ones; "
    "whether a rule of that name exists is the market's state, so the params schema cannot require "
    "them); comparator defaults to gt. Fields left out of a call on an existing rule keep their values.",
    examples=[{"params": {"name": "disputes-open", "severity": "P1", "metric": "disputes_open", "threshold": 50}}],
)
def upsert_rule(call, params):
    fields = {FIELD_NAMES.get(k, k): v for k, v in params.items() if k != "name"}
    rule, created = monitor_services.rule_upsert(by_actor_id=call.actor_id, name=params["name"], **fields)
    rule = monitor_selectors.rule_shown(rule)
    rule.created = created
    return rule


class HistoryParams(Params):
    rule = serializers.CharField(max_length=80, required=False)
    status = serializers.ChoiceField(choices=Alert.Status.values, required=False)
    severity = serializers.ChoiceField(choices=AlertRule.Severity.values, required=False)
    since = StrictDateTimeField(required=False, help_text="Alerts fired at or after this time.")
    limit = limit_field()
    cursor = cursor_field()


class HistoryOut(serializers.Serializer):
    items = AlertOut(many=True)
    nextCursor = serializers.CharField(allow_null=True)


@method(
    name="web3.monitor.history",
    summary="Alerts, newest first, with the values each saw.",
    group="monitor",
    read_only=True,
    auth="staff",
    params=HistoryParams,
    result=HistoryOut,
    permissions=STAFF,
)
def history(call, params):
    filters = {k: params.get(k) for k in ("rule", "status", "severity")}
    if params.get("since"):
        filters["since"] = params["since"].isoformat()
    return paginate(monitor_selectors.alert_history(filters=filters), params, lambda alert: alert)


class AcknowledgeParams(Params):
    alertId = id_field("alert")


@method(
    name="web3.monitor.acknowledge",
    idempotent=True,
    summary="Acknowledge an active alert: someone is on it.",
    group="monitor",
    auth="staff",
    params=AcknowledgeParams,
    result=AlertOut,
    permissions=STAFF,
    errors=["E_NOT_FOUND", "E_CONFLICT"],
    description="active -> acknowledged; the alert stays until its condition clears (then resolved). "
    "An acknowledged or resolved alert: E_CONFLICT.",
)
def acknowledge(call, params):
    return monitor_services.alert_acknowledge(alert_id=params["alertId"], by_actor_id=call.actor_id)


@status.part("monitoring")
def _monitoring_part() -> tuple[str, str]:
    """Firing alerts, and whether alerting itself works (rules evaluated lately, notifications
    delivered). The market still serves while an alert fires: degraded, never down."""
    from django.utils import timezone

    now = timezone.now()
    health = monitor_selectors.monitor_health(now)
    problems = []
    if health["enabledRules"] and health["stale"]:
        age = health["evaluationAgeSec"]
        problems.append(
            "alert rules never evaluated"
            if age is None
            else f"alert rules last evaluated {age} s ago (are Celery beat and a worker running?)"
        )
    elif health["staleRules"]:
        n = len(health["staleRules"])
        problems.append(f"{n} alert rule{'' if n == 1 else 's'} not evaluated lately (see the log)")
    if health["retrying"] or health["givenUp"]:
        problems.append(
            f"alert notifications undelivered: {health['retrying']} retrying, "
            f"{health['givenUp']} given up in the last day"
        )
    firing = list(monitor_selectors.firing_alerts())
    quiet = {a.pk for a in firing if a.silenced or (a.rule.silenced_until and a.rule.silenced_until > now)}
    if firing:
        # Counts only: any signed-in actor reads the summary; which rule fires is for staff
        # (web3.monitor.history), not for someone timing an attack.
        by_severity = ", ".join(
            f"{sev}: {sum(a.severity == sev for a in firing)}" for sev in sorted({a.severity for a in firing})
        )
        silenced = f"; {len(quiet)} silenced" if quiet else ""
        problems.insert(0, f"{len(firing)} alert{'' if len(firing) == 1 else 's'} firing ({by_severity}{silenced})")
    loud = (
        len(quiet) < len(firing)
        or (health["enabledRules"] and health["stale"])
        or health["staleRules"]
        or health["givenUp"]
    )
    return ("degraded" if loud else "ok"), "; ".join(problems) or "no alerts firing"
