"""Monitoring in the demo and in the admin console: the demo's rule fires on its open dispute;
operators edit rules (audited) and acknowledge alerts there."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from market.models import Alert, AlertRule, AuditEvent
from web3api.demo.actors import demo_wallets, step_funds
from web3api.demo.monitor import DEMO_RULE, step_monitor
from web3api.demo.task_market import step_market


@pytest.fixture
def demo(db):
    wallets = demo_wallets()
    lines: list[str] = []
    for step in (step_funds, step_market, step_monitor):
        step(wallets, lines.append)
    return wallets, lines


@pytest.fixture
def operator_client(client):
    client.force_login(get_user_model().objects.create_superuser(username="ops", email="", password="x"))
    return client


def test_demo_installs_the_rules_and_its_open_dispute_fires_the_demo_rule(demo, staff):
    # then the default rules and the demo rule exist, and the demo rule fired once, naming the dispute
    names = {r["name"] for r in staff.call("web3.monitor.listRules").result["items"]}
    assert {"invariant-violation", "settlement-failure-rate", DEMO_RULE} <= names
    [alert] = staff.call("web3.monitor.history").result["items"]
    assert (alert["rule"], alert["status"], alert["value"]) == (DEMO_RULE, "alert_active", 1)
    assert len(alert["details"]["disputes"]) == 1

    # and running the step again neither duplicates the rule nor the alert
    step_monitor(demo[0], [].append)
    assert AlertRule.objects.filter(name=DEMO_RULE).count() == 1
    assert Alert.objects.count() == 1 and Alert.objects.get().evaluations == 2


def test_admin_shows_monitoring_and_edits_a_rule_through_the_service(demo, operator_client):
    # the monitoring pages render
    for name in ("alertrule", "alert", "alertnotification", "operationfailure", "metricreading", "alertobservation"):
        assert operator_client.get(f"/admin/market/{name}/").status_code == 200, name
    alert = Alert.objects.get()
    assert operator_client.get(f"/admin/market/alert/{alert.pk}/change/").status_code == 200

    # when the operator raises a rule's threshold in the admin
    rule = AlertRule.objects.get(name="settlements-past-due")
    form = {
        "description": rule.description,
        "severity": "P1",
        "metric": rule.metric,
        "comparator": "gt",
        "threshold": "30",
        "window_sec": "300",
        "for_sec": "120",
        "enabled": "on",
        "silenced_until_0": "",
        "silenced_until_1": "",
    }
    r = operator_client.post(f"/admin/market/alertrule/{rule.pk}/change/", form)

    # then the rule changed, and the change is an audit event by that operator
    assert r.status_code == 302, r.content[:2000]
    rule.refresh_from_db()
    assert rule.threshold == 30
    event = AuditEvent.objects.filter(action="alert_rule.update", object_id="settlements-past-due").get()
    assert event.actor_id == "admin:ops"

    # and a rule cannot be deleted there (disable it instead)
    assert operator_client.get(f"/admin/market/alertrule/{rule.pk}/delete/").status_code == 403


def test_admin_action_acknowledges_active_alerts(demo, operator_client):
    alert = Alert.objects.get()
    r = operator_client.post("/admin/market/alert/", {"action": "acknowledge", "_selected_action": [alert.pk]})
    assert r.status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == ("alert_acknowledged", "admin:ops")


def test_an_operator_with_a_long_username_acknowledges_and_edits_rules(demo, client):
    # given an operator whose username (an e-mail address) is longer than an actor id column
    user = get_user_model().objects.create_superuser(
        username="operations.oncall@example-company.com", email="", password="x"
    )
    client.force_login(user)
    alert = Alert.objects.get()
    # when they acknowledge an alert and change a rule
    r = client.post("/admin/market/alert/", {"action": "acknowledge", "_selected_action": [alert.pk]})
    assert r.status_code == 302
    rule = AlertRule.objects.get(name="settlements-past-due")
    form = {
        "description": rule.description,
        "severity": "P1",
        "metric": rule.metric,
        "comparator": "gt",
        "threshold": "25",
        "window_sec": "300",
        "for_sec": "120",
        "enabled": "on",
        "silenced_until_0": "",
        "silenced_until_1": "",
    }
    assert client.post(f"/admin/market/alertrule/{rule.pk}/change/", form).status_code == 302
    # then both are done, recorded under an actor id that fits its column (on every store)
    alert.refresh_from_db()
    event = AuditEvent.objects.filter(action="alert_rule.update", object_id="settlements-past-due").get()
    assert alert.status == "alert_acknowledged"
    assert alert.acknowledged_by == event.actor_id == f"admin:id:{user.pk}"


def test_admin_offers_only_known_metrics(demo, operator_client):
    rule = AlertRule.objects.get(name="settlements-past-due")
    form = {
        "description": rule.description,
        "severity": "P1",
        "metric": "no_such_metric",
        "comparator": "gt",
        "threshold": "30",
        "window_sec": "300",
        "for_sec": "120",
        "enabled": "on",
        "silenced_until_0": "",
        "silenced_until_1": "",
    }
    r = operator_client.post(f"/admin/market/alertrule/{rule.pk}/change/", form)
    assert r.status_code == 200 and b"Select a valid choice" in r.content
    rule.refresh_from_db()
    assert (rule.metric, rule.threshold) == ("settlements_past_due", 20)
