"""web3.monitor.* (staff only), the monitoring status part, and the market's figures on /metrics."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from prometheus_client.parser import text_string_to_metric_families

from market.models import AlertRule, OperationFailure
from market.monitor_defaults import DEFAULT_RULES
from market.services import ledger
from market.services import monitor as monitor_services
from market.services.monitor import default_rules_install
from openclaw.periodic import run_periodic_job_task

pytestmark = pytest.mark.django_db
METHODS = [
    "web3.monitor.metrics",
    "web3.monitor.listRules",
    "web3.monitor.upsertRule",
    "web3.monitor.history",
    "web3.monitor.acknowledge",
]


@pytest.fixture(autouse=True)
def _default_rules():
    default_rules_install()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def credit(staff, actor_id: str, amount: str = "5.00"):
    r = staff.call(
        "web3.admin.creditAccount", {"actorId": actor_id, "amount": amount, "currency": "USDC", "reason": "test"}
    )
    assert r.ok, r.body
    return r


# --- who may call ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", METHODS)
def test_monitor_methods_are_staff_only(name, alice, anon):
    params = {"name": "x", "alertId": "alr_x"} if name in METHODS[2:] else {}
    if name == "web3.monitor.history":
        params = {}
    assert alice.call(name, params).code == "E_FORBIDDEN"
    assert anon.call(name, params).code == "E_AUTH_REQUIRED"


# --- rules --------------------------------------------------------------------------------------------------


def test_list_rules_shows_the_default_rules_with_their_state(staff):
    # when staff lists the rules
    r = staff.call("web3.monitor.listRules")

    # then every default rule is there, with its threshold, windows and evaluation state
    assert r.ok, r.body
    rules = {item["name"]: item for item in r.result["items"]}
    assert set(rules) >= {name for name, *_ in DEFAULT_RULES}
    failure = rules["settlement-failure-rate"]
    assert (failure["severity"], failure["metric"], failure["comparator"], failure["threshold"]) == (
        "P0",
        "settlement_failure_rate",
        "gt",
        0.05,
    )
    assert rules["dispute-unresolved-24h"]["threshold"] == 86400
    assert rules["settlements-past-due"]["severity"] == "P1"
    assert failure["firingAlertId"] is None and failure["lastEvaluatedAt"] is None


def test_upsert_creates_then_changes_only_the_fields_given(staff):
    # when staff creates a rule by name
    r = staff.call(
        "web3.monitor.upsertRule",
        {
            "name": "disputes-many",
            "severity": "P1",
            "metric": "disputes_open",
            "threshold": "50",
            "forSec": 300,
            "description": "busy arbitrators",
        },
    )
    assert r.ok, r.body
    assert r.result["created"] is True
    assert (r.result["comparator"], r.result["windowSec"], r.result["forSec"], r.result["enabled"]) == (
        "gt",
        300,
        300,
        True,
    )

    # and then changes its threshold only
    r2 = staff.call("web3.monitor.upsertRule", {"name": "disputes-many", "threshold": 10})

    # then the same rule changed that field and kept the others
    assert r2.ok, r2.body
    assert r2.result["created"] is False
    assert (r2.result["threshold"], r2.result["forSec"], r2.result["description"]) == (10, 300, "busy arbitrators")
    assert AlertRule.objects.filter(name="disputes-many").count() == 1

    # and both changes are in the audit log, by the staff actor
    events = staff.call("web3.audit.query", {"objectType": "alert_rule", "objectId": "disputes-many"})
    actions = [e["action"] for e in events.result["items"]]
    assert sorted(actions) == ["alert_rule.create", "alert_rule.update"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"name": "new-rule", "metric": "disputes_open", "threshold": 1}, "severity"),
        ({"name": "new-rule", "severity": "P1", "threshold": 1}, "metric"),
        ({"name": "new-rule", "severity": "P1", "metric": "no_such_metric", "threshold": 1}, "metric"),
        ({"name": "New Rule!", "severity": "P1", "metric": "disputes_open", "threshold": 1}, "name"),
        ({"name": "new-rule", "severity": "P2", "metric": "disputes_open", "threshold": 1}, "severity"),
        (
            {"name": "new-rule", "severity": "P1", "metric": "disputes_open", "threshold": 1, "windowSec": 5},
            "windowSec",
        ),
        ({"name": "new-rule", "severity": "P1", "metric": "disputes_open", "threshold": "lots"}, "threshold"),
        (
            {"name": "new-rule", "severity": "P1", "metric": "disputes_open", "threshold": 1, "comparator": ">"},
            "comparator",
        ),
    ],
)
def test_upsert_refuses_bad_rules_naming_the_field(staff, params, field):
    r = staff.call("web3.monitor.upsertRule", params)
    assert r.code == "E_INVALID_ARGUMENT"
    assert field in r.body["error"]["details"]["fields"]
    assert not AlertRule.objects.filter(name="new-rule").exists()


@pytest.mark.keypath
def test_a_rule_name_is_at_most_as_long_as_an_audit_object_id(staff):
    # given a rule's name is the object id of its audit events (64 characters; on PostgreSQL a longer
    # one was a DataError, 500)
    base = {"severity": "P1", "metric": "disputes_open", "threshold": 1}
    longest, longer = "r" * 64, "r" * 65
    # when rules are created with the longest name and one character more
    ok = staff.call("web3.monitor.upsertRule", {"name": longest, **base})
    refused = staff.call("web3.monitor.upsertRule", {"name": longer, **base})
    # then the first is created and audited under its name, the second is refused naming the field
    assert ok.result["created"] is True
    assert staff.call("web3.audit.query", {"objectId": longest}).result["items"]
    assert refused.code == "E_INVALID_ARGUMENT" and set(refused.body["error"]["details"]["fields"]) == {"name"}
    assert not AlertRule.objects.filter(name=longer).exists()


def test_the_rule_service_refuses_a_name_longer_than_an_audit_object_id(db):
    # the admin form allows the column's 80 characters: the service it saves through refuses past 64
    from market.errors import InvalidArgument

    with pytest.raises(InvalidArgument) as refused:
        monitor_services.rule_upsert(
            by_actor_id="admin:x", name="r" * 65, severity="P1", metric="disputes_open", threshold=1
        )
    assert set(refused.value.details["fields"]) == {"name"}


# --- metrics, history, acknowledge, status ---------------------------------------------------------------------


def test_metrics_lists_every_metric_and_the_invariants_after_the_monitor_ran(staff):
    # given a market where nothing has been evaluated yet
    r = staff.call("web3.monitor.metrics")
    assert r.ok, r.body
    values = {m["name"]: m for m in r.result["metrics"]}
    assert values["invariant_violations"]["value"] is None
    assert values["disputes_open"]["value"] == 0

    # when the monitor job runs
    run_periodic_job_task("monitor.evaluate")

    # then the costly metric shows the job's reading, and the rules their last value
    values = {m["name"]: m for m in staff.call("web3.monitor.metrics").result["metrics"]}
    assert values["invariant_violations"]["value"] == 0
    assert values["invariant_violations"]["measuredAt"] is not None
    rules = {i["name"]: i for i in staff.call("web3.monitor.listRules").result["items"]}
    assert rules["invariant-violation"]["lastValue"] == 0
    assert rules["invariant-violation"]["lastEvaluatedAt"] is not None


def test_an_alert_fires_is_acknowledged_and_resolves_in_history(staff, alice):
    # given a rule on unsealed audit events, and events to trip it
    staff.call(
        "web3.monitor.upsertRule",
        {"name": "unsealed-any", "severity": "P1", "metric": "audit_unsealed_events", "threshold": 0},
    )
    credit(staff, alice.actor_id)

    # when the monitor runs
    run_periodic_job_task("monitor.evaluate")

    # then one active alert is in the history, and the status summary says monitoring is degraded
    h = staff.call("web3.monitor.history", {"rule": "unsealed-any"})
    assert h.ok, h.body
    [alert] = h.result["items"]
    assert alert["status"] == "alert_active" and alert["severity"] == "P1" and alert["value"] > 0
    assert [o["kind"] for o in alert["observations"]] == ["fired"]
    part = staff.call("web3.status.summary").result["parts"]["monitoring"]
    # (counts only: which rule fires is for staff, through web3.monitor.history)
    assert (part["status"], part["message"]) == ("degraded", "1 alert firing (P1: 1)")

    # when staff acknowledges it (twice)
    ack = staff.call("web3.monitor.acknowledge", {"alertId": alert["alertId"]})
    again = staff.call("web3.monitor.acknowledge", {"alertId": alert["alertId"]})

    # then it is acknowledged once, by that staff actor
    assert ack.ok, ack.body
    assert ack.result["status"] == "alert_acknowledged" and ack.result["acknowledgedBy"] == staff.actor_id
    assert again.code == "E_CONFLICT"
    assert staff.call("web3.monitor.acknowledge", {"alertId": "alr_nope"}).code == "E_NOT_FOUND"

    # when the events are sealed and the monitor runs again
    call_command("run_sweeps")

    # then the alert is resolved, with the values it saw
    [alert] = staff.call("web3.monitor.history", {"rule": "unsealed-any"}).result["items"]
    assert alert["status"] == "alert_resolved" and alert["resolvedAt"] is not None
    assert [o["kind"] for o in alert["observations"]][-1] == "resolved"
    assert staff.call("web3.status.summary").result["parts"]["monitoring"]["status"] == "ok"
    assert staff.call("web3.monitor.history", {"status": "alert_active"}).result["items"] == []


def test_history_filters_and_refuses_a_bad_filter(staff):
    assert staff.call("web3.monitor.history", {"severity": "P0"}).result == {"items": [], "nextCursor": None}
    assert staff.call("web3.monitor.history", {"status": "firing"}).code == "E_INVALID_ARGUMENT"
    assert staff.call("web3.monitor.history", {"since": "yesterday"}).code == "E_INVALID_ARGUMENT"


# --- /metrics -----------------------------------------------------------------------------------------------


def test_metrics_page_shows_the_market_figures_the_calls_caused(client, staff, alice, monkeypatch):
    before = samples(client.get("/metrics").content.decode())
    assert before[("web3_market_metrics_up", ())] == 1

    # given audit events not yet sealed, and a money method failing for the market's own reasons
    credit(staff, alice.actor_id)

    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ledger, "deposit", broken)
    failed = staff.call(
        "web3.admin.creditAccount", {"actorId": alice.actor_id, "amount": "1.00", "currency": "USDC", "reason": "t"}
    )
    assert failed.code == "E_INTERNAL"
    # and a refused withdrawal, which is the caller's problem, not a failure of the market
    refused = staff.call(
        "web3.admin.debitAccount", {"actorId": alice.actor_id, "amount": "999.00", "currency": "USDC", "reason": "t"}
    )
    assert refused.code == "E_INSUFFICIENT_FUNDS"

    # when /metrics is scraped
    r = client.get("/metrics")
    after = samples(r.content.decode())

    # then it parses, and shows the unsealed events and exactly one recorded failure
    assert r.status_code == 200
    assert after[("web3_audit_unsealed_events", ())] > 0
    key = ("web3_ledger_failures_total", (("kind", "internal"), ("operation", "web3.admin.creditAccount")))
    assert after[key] - before.get(key, 0) == 1
    assert not any(
        name == "web3_ledger_failures_total" and dict(labels).get("operation") == "web3.admin.debitAccount"
        for name, labels in after
    )
    assert OperationFailure.objects.get().correlation_id == failed.body["error"]["details"]["correlationId"]
    assert after[("web3_alerts_firing", (("severity", "P0"),))] == 0
    assert ("web3_settlements_past_due", ()) in after and ("web3_disputes_open", ()) in after

    # when the events are sealed and a P0 rule fires on a constructed failure rate
    call_command("run_sweeps")
    after_sweeps = samples(client.get("/metrics").content.decode())

    # then the events are sealed (all but the alert's own, written after the seal), the invariants
    # were read, and the failure rule fires (one failure and one deposit: 50% of money operations failed)
    assert after_sweeps[("web3_audit_unsealed_events", ())] == 1
    assert after_sweeps[("web3_invariant_violations", ())] == 0
    assert after_sweeps[("web3_alerts_firing", (("severity", "P0"),))] == 1
    assert after_sweeps[("web3_settlement_failure_ratio", ())] == 0.5


# --- is alerting itself working? ----------------------------------------------------------------------------


def test_status_and_metrics_say_when_the_rules_stop_being_evaluated(staff, client):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    # given rules evaluated just now
    run_periodic_job_task("monitor.evaluate")
    part = staff.call("web3.status.summary").result["parts"]["monitoring"]
    assert (part["status"], part["message"]) == ("ok", "no alerts firing")

    # when beat stops: four sweep intervals pass with no evaluation
    with time_machine.travel(timezone.now() + timedelta(seconds=240), tick=False):
        part = staff.call("web3.status.summary").result["parts"]["monitoring"]
        scraped = samples(client.get("/metrics").content.decode())

    # then the monitoring part says alerting has stopped, and /metrics shows the age
    assert part["status"] == "degraded"
    assert "last evaluated 240 s ago" in part["message"]
    assert scraped[("web3_monitor_evaluation_age_seconds", ())] == 240


def test_status_says_when_one_rule_stops_being_evaluated_while_the_others_are(staff, monkeypatch):
    import dataclasses

    import time_machine
    from django.utils import timezone

    from market.selectors.monitor import METRICS

    # given the P0 invariant rule's metric cannot be read (a scan that fails every time)
    broken = METRICS["invariant_violations"]

    def unreadable(now, window_sec):
        raise RuntimeError("the invariant scan fails")

    monkeypatch.setitem(METRICS, broken.name, dataclasses.replace(broken, fn=unreadable))
    start = timezone.now()
    # when beat runs the evaluation every minute for four minutes
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(5):
            run_periodic_job_task("monitor.evaluate")
            clock.shift(60)
        clock.shift(-60)
        part = staff.call("web3.status.summary").result["parts"]["monitoring"]

    # then the other rules are fresh, but the monitoring part says the P0 rule is not evaluated
    assert AlertRule.objects.get(name="invariant-violation").last_evaluated_at is None
    assert part["status"] == "degraded", part
    assert part["message"] == "1 alert rule not evaluated lately (see the log)"


def test_status_says_when_alert_notifications_are_given_up(staff, settings, alice, client):
    from market.models import AlertNotification
    from market.services.notify import notify_sweep

    # given a webhook nobody answers, one attempt allowed, and a rule that fires
    settings.WEB3_ALERT_WEBHOOK_URL = "http://127.0.0.1:9/hook"
    settings.WEB3_ALERT_MAX_ATTEMPTS = 1
    staff.call(
        "web3.monitor.upsertRule",
        {"name": "unsealed-any", "severity": "P1", "metric": "audit_unsealed_events", "threshold": 0},
    )
    credit(staff, alice.actor_id)
    run_periodic_job_task("monitor.evaluate")

    # when the delivery is attempted (and fails)
    notify_sweep()

    # then the notification is given up, and the status and /metrics say so
    assert AlertNotification.objects.get().status == "notify_failed"
    part = staff.call("web3.status.summary").result["parts"]["monitoring"]
    assert part["status"] == "degraded"
    assert "0 retrying, 1 given up in the last day" in part["message"]
    scraped = samples(client.get("/metrics").content.decode())
    assert scraped[("web3_alert_notifications_undelivered", (("state", "given_up"),))] == 1


def test_an_alert_that_fired_in_a_silence_is_notified_when_the_silence_ends(
    staff, alice, settings, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    import time_machine
    from django.core import mail
    from django.utils import timezone

    from market.models import Alert

    settings.WEB3_ALERT_EMAILS = ["ops@example.com"]
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        # given a rule silenced for ten minutes, which fires during the silence
        staff.call(
            "web3.monitor.upsertRule",
            {
                "name": "unsealed-any",
                "severity": "P1",
                "metric": "audit_unsealed_events",
                "threshold": 0,
                "silencedUntil": (start + timedelta(minutes=10)).isoformat(),
            },
        )
        credit(staff, alice.actor_id)
        with django_capture_on_commit_callbacks(execute=True):
            run_periodic_job_task("monitor.evaluate")
        assert Alert.objects.get(rule__name="unsealed-any").silenced is True
        assert [m for m in mail.outbox if "unsealed-any" in m.subject] == []

        # when the silence ends and the condition still holds
        clock.shift(11 * 60)
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                run_periodic_job_task("monitor.evaluate")

    # then it is notified then, once, and no longer counted as silenced
    sent = [m.subject for m in mail.outbox if "unsealed-any" in m.subject]
    assert len(sent) == 1 and "FIRING" in sent[0]
    assert Alert.objects.get(rule__name="unsealed-any").silenced is False


def test_the_failure_counter_never_goes_down(staff, alice, client, monkeypatch):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    # given one failure of a money method
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(ledger, "deposit", broken)
    assert (
        staff.call(
            "web3.admin.creditAccount", {"actorId": alice.actor_id, "amount": "1.00", "currency": "USDC", "reason": "t"}
        ).code
        == "E_INTERNAL"
    )
    key = ("web3_ledger_failures_total", (("kind", "internal"), ("operation", "web3.admin.creditAccount")))

    # when weeks pass with the monitor running
    with time_machine.travel(timezone.now() + timedelta(days=30), tick=False):
        run_periodic_job_task("monitor.evaluate")
        scraped = samples(client.get("/metrics").content.decode())

    # then the counter still counts it (a Prometheus counter must never decrease)
    assert scraped[key] == 1
