"""How the monitor.evaluate job treats a rule: pending until it has held for its for-duration, one
deduplicated alert while it holds, acknowledged by staff, resolved when it clears or when its rule is
disabled; a healthy market with its sweeps running fires nothing; two evaluators at once fire one
alert."""

from __future__ import annotations

import dataclasses
import io
import threading
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction

from market.audit.log import audit_record
from market.models import Alert
from market.monitor_defaults import DEFAULT_RULES
from market.selectors.monitor import METRICS
from market.services.monitor import monitor_evaluate
from tests.conftest import in_thread
from tests.monitor_support import alerts, default_rules, evaluate, job, kinds, rule, sweeps  # noqa: F401
from tests.task_support import START

pytestmark = pytest.mark.usefixtures("default_rules")
ISO = "%Y-%m-%dT%H:%M:%SZ"


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def events(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            audit_record(actor_id="system", action="test.note", object_type="task", object_id=f"t{i}")
    job("audit.sequence")  # as after their commits: the test's own transaction never commits


def unsealed_rule(staff, name: str = "unsealed-any", **extra) -> dict:
    """A P1 rule that holds while any audit event is unsealed (the seal sweep clears it)."""
    return staff.call(
        "web3.monitor.upsertRule",
        {"name": name, "severity": "P1", "metric": "audit_unsealed_events", "threshold": 0, **extra},
    ).result


def at(clock_time) -> str:
    return clock_time.strftime(ISO)


@pytest.mark.keypath
def test_a_rule_is_pending_until_it_has_held_for_its_for_duration(clock, staff):
    # given: a rule that must hold for 2 minutes, and an unsealed event
    unsealed_rule(staff, forSec=120)
    # when: it holds for a minute, then clears
    evaluate()
    assert rule(staff, "unsealed-any")["pendingSince"] == at(START)
    clock.shift(60)
    evaluate()
    assert alerts(staff, "unsealed-any") == []
    job("audit.seal")
    evaluate()
    # then: nothing fired and the pending time is forgotten
    assert rule(staff, "unsealed-any")["pendingSince"] is None
    # when: it holds again, from a new start, for 119 s and then 120 s
    events(1)
    evaluate()
    restarted = START + timedelta(seconds=60)
    assert rule(staff, "unsealed-any")["pendingSince"] == at(restarted)
    clock.shift(119)
    evaluate()
    assert alerts(staff, "unsealed-any") == []
    clock.shift(1)
    evaluate()
    # then: it fires at the end of the for-duration counted from the restart
    [alert] = alerts(staff, "unsealed-any")
    assert (alert["status"], alert["firedAt"], alert["value"]) == (
        "alert_active",
        at(restarted + timedelta(seconds=120)),
        1,
    )
    assert rule(staff, "unsealed-any")["firingAlertId"] == alert["alertId"]


def fail_money_job(monkeypatch, times: int = 1) -> None:
    """The leases.expire periodic job breaks `times` times: each counts as a ledger failure."""
    from market.services import leases

    def broken_sweep():
        raise RuntimeError("the sweep broke")

    monkeypatch.setattr(leases, "lease_expire_sweep", broken_sweep)
    for _ in range(times):
        with pytest.raises(RuntimeError):
            job("leases.expire")
    monkeypatch.undo()


@pytest.mark.keypath
def test_while_it_holds_there_is_one_alert_and_a_new_value_is_observed_only_when_it_changes(clock, staff, monkeypatch):
    # given: a rule on ledger failures in the last 5 minutes, fired by one failure
    staff.call(
        "web3.monitor.upsertRule",
        {"name": "failures-any", "severity": "P1", "metric": "ledger_failures", "threshold": 0, "windowSec": 300},
    )
    fail_money_job(monkeypatch)
    evaluate()
    [fired] = alerts(staff, "failures-any")
    # when: it is evaluated three more times with the same value, then once after two more failures
    for _ in range(3):
        clock.shift(60)
        evaluate()
    fail_money_job(monkeypatch, 2)
    clock.shift(60)
    evaluate()
    # then: still the one alert, counting every evaluation, with one observation per value seen
    [alert] = alerts(staff, "failures-any")
    assert alert["alertId"] == fired["alertId"] and alert["status"] == "alert_active"
    assert alert["evaluations"] == 5
    assert (alert["value"], alert["lastValue"], alert["peakValue"]) == (1, 3, 3)
    assert kinds(alert) == [("fired", 1), ("seen", 3)]
    assert (alert["firedAt"], alert["lastSeenAt"]) == (at(START), at(START + timedelta(seconds=240)))
    assert Alert.objects.filter(rule__name="failures-any").count() == 1
    # when: the failures leave the window, and later one more happens
    clock.shift(241)
    evaluate()
    fail_money_job(monkeypatch)
    evaluate()
    # then: the first alert is resolved and a second one fired
    second, first = alerts(staff, "failures-any")
    assert (first["alertId"], first["status"]) == (fired["alertId"], "alert_resolved")
    assert kinds(first) == [("fired", 1), ("seen", 3), ("resolved", 0)]
    assert second["status"] == "alert_active" and kinds(second) == [("fired", 1)]


@pytest.mark.keypath
def test_staff_acknowledge_an_alert_which_still_resolves_when_it_clears(clock, staff, alice):
    # given: an active alert
    unsealed_rule(staff)
    evaluate()
    [alert] = alerts(staff, "unsealed-any")
    ack = {"alertId": alert["alertId"]}
    # when / then: only staff may acknowledge; unknown ids are not found
    assert alice.call("web3.monitor.acknowledge", ack).code == "E_FORBIDDEN"
    assert staff.call("web3.monitor.acknowledge", {"alertId": "alr_nope"}).code == "E_NOT_FOUND"
    done = staff.call("web3.monitor.acknowledge", ack).result
    assert (done["status"], done["acknowledgedBy"], done["acknowledgedAt"]) == (
        "alert_acknowledged",
        staff.actor_id,
        at(START),
    )
    assert staff.call("web3.monitor.acknowledge", ack).code == "E_CONFLICT"
    # when: it still holds, then clears
    clock.shift(60)
    evaluate()
    [alert] = alerts(staff, "unsealed-any")
    assert (alert["status"], alert["evaluations"]) == ("alert_acknowledged", 2)
    assert rule(staff, "unsealed-any")["firingAlertId"] == alert["alertId"]
    job("audit.seal")
    evaluate()
    # then: resolved, keeping who acknowledged it; a resolved alert cannot be acknowledged
    [alert] = alerts(staff, "unsealed-any")
    assert (alert["status"], alert["acknowledgedBy"]) == ("alert_resolved", staff.actor_id)
    assert staff.call("web3.monitor.acknowledge", ack).code == "E_CONFLICT"
    assert staff.call("web3.status.summary").result["parts"]["monitoring"]["status"] == "ok"


@pytest.mark.keypath
def test_disabling_a_rule_resolves_its_alert_and_enabling_it_starts_afresh(clock, staff):
    # given: a firing rule
    unsealed_rule(staff, forSec=60)
    evaluate()
    clock.shift(60)
    evaluate()
    assert alerts(staff, "unsealed-any")[0]["status"] == "alert_active"
    assert staff.call("web3.status.summary").result["parts"]["monitoring"]["status"] == "degraded"
    # when: it is disabled while the condition still holds
    assert unsealed_rule(staff, enabled=False)["enabled"] is False
    evaluate()
    # then: its alert is resolved, and it is no longer pending
    [alert] = alerts(staff, "unsealed-any")
    assert alert["status"] == "alert_resolved" and kinds(alert) == [("fired", 1)]
    assert (rule(staff, "unsealed-any")["pendingSince"], rule(staff, "unsealed-any")["firingAlertId"]) == (None, None)
    assert staff.call("web3.status.summary").result["parts"]["monitoring"]["status"] == "ok"
    # when: it is enabled again: pending for its for-duration before a new alert fires
    unsealed_rule(staff, enabled=True)
    evaluate()
    assert len(alerts(staff, "unsealed-any")) == 1
    clock.shift(60)
    evaluate()
    assert [a["status"] for a in alerts(staff, "unsealed-any")] == ["alert_active", "alert_resolved"]


def test_a_metric_that_cannot_be_read_does_not_stop_the_other_rules(clock, staff, monkeypatch, caplog):
    # given: a rule that holds, and the metric of another default rule broken
    unsealed_rule(staff)
    broken = METRICS["dispute_unresolved_seconds"]

    def unreadable(now, window_sec):
        raise RuntimeError("the disputes table is unreadable")

    monkeypatch.setitem(METRICS, broken.name, dataclasses.replace(broken, fn=unreadable))
    # when
    outcome = evaluate()
    # then: that rule is counted as an error and logged; every other rule was evaluated
    assert outcome["error"] == 1 and outcome["fired"] == 1
    assert "alert rule dispute-unresolved-24h could not be evaluated" in caplog.text
    listed = {r["name"]: r for r in staff.call("web3.monitor.listRules").result["items"]}
    assert listed.pop("dispute-unresolved-24h")["lastEvaluatedAt"] is None
    assert {r["lastEvaluatedAt"] for r in listed.values()} == {at(START)}
    assert alerts(staff, "unsealed-any")[0]["status"] == "alert_active"


def test_a_healthy_market_with_its_sweeps_running_fires_nothing(settings, tmp_path, clock, sign_in):
    # given: the demo market, with only the default rules enabled (the demo adds a rule of its own
    # that its open dispute trips on purpose)
    settings.VAR_DIR = tmp_path
    call_command("demo", stdout=io.StringIO())
    staff = sign_in(roles=("staff",))
    defaults = {name for name, *_ in DEFAULT_RULES}
    for extra in {r["name"] for r in staff.call("web3.monitor.listRules").result["items"]} - defaults:
        assert staff.call("web3.monitor.upsertRule", {"name": extra, "enabled": False}).ok
    # when: the sweeps run every minute for six minutes (monitor.evaluate is one of them)
    for _ in range(6):
        sweeps()
        clock.shift(60)
    sweeps()
    # then: every default rule was evaluated and none fired; nothing is firing; monitoring is ok
    listed = {r["name"]: r for r in staff.call("web3.monitor.listRules").result["items"]}
    assert {name: listed[name]["lastEvaluatedAt"] for name in defaults} == {
        name: at(START + timedelta(seconds=360)) for name in defaults
    }
    history = staff.call("web3.monitor.history", {}).result["items"]
    assert [a for a in history if a["rule"] in defaults] == []
    assert [a for a in history if a["status"] != "alert_resolved"] == []
    assert staff.call("web3.status.summary").result["parts"]["monitoring"] == {
        "status": "ok",
        "message": "no alerts firing",
    }


@pytest.mark.concurrency
@pytest.mark.postgres
def test_two_evaluators_at_once_fire_one_alert(transactional_db):
    # given: a rule that holds
    from market.services.monitor import default_rules_install, rule_upsert

    default_rules_install()
    rule_upsert(by_actor_id="system", name="unsealed-any", severity="P1", metric="audit_unsealed_events", threshold=0)
    start = threading.Barrier(3)

    def evaluate_at_once():
        start.wait(10)
        return monitor_evaluate()

    # when: three evaluators run at the same moment
    runs = [in_thread(evaluate_at_once) for _ in range(3)]
    for thread, _ in runs:
        thread.join(60)
    # then: one of them fired it, the others found it firing (or, when their reading was older than
    # the one applied, left it alone); one alert, one observation
    outcomes = [out.get("value") or out.get("error") for _, out in runs]
    assert all(isinstance(o, dict) for o in outcomes), outcomes
    assert sorted(o.get("fired", 0) for o in outcomes) == [0, 0, 1]
    [alert] = Alert.objects.filter(rule__name="unsealed-any")
    assert (alert.status, alert.observations.count()) == ("alert_active", 1)
    assert alert.evaluations == 1 + sum(o.get("firing", 0) for o in outcomes)
    assert Alert.objects.count() == 1


def test_an_evaluation_older_than_the_last_one_applied_changes_nothing(clock, staff):
    # given a rule that holds while any event is unsealed, evaluated by a slow run that read its
    # metric at START (an event unsealed), and a later run that found it clear and applied it first
    from decimal import Decimal

    from market.models import AlertRule
    from market.selectors.monitor import Reading
    from market.services.monitor import rule_evaluate

    unsealed_rule(staff)
    rule_id = AlertRule.objects.get(name="unsealed-any").pk
    later = START + timedelta(seconds=60)
    assert rule_evaluate(rule_id=rule_id, reading=Reading(Decimal(0)), now=later) == "clear"
    # when the slow run applies its older reading
    rule_evaluate(rule_id=rule_id, reading=Reading(Decimal(3)), now=START)
    # then nothing fired, and the rule keeps the newer evaluation
    assert alerts(staff, "unsealed-any") == []
    assert (rule(staff, "unsealed-any")["lastEvaluatedAt"], rule(staff, "unsealed-any")["lastValue"]) == (at(later), 0)
