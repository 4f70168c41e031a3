"""Helpers for the alert rule tests: the monitor.evaluate job as beat runs it, and what staff see
of rules and alerts through web3.monitor.*."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from openclaw.periodic import run_job


@pytest.fixture
def default_rules(db):
    """The seven default rules (a transactional test's flush removes those of migration 0008)."""
    from market.services.monitor import default_rules_install

    default_rules_install()


def evaluate() -> dict:
    """One run of the monitor.evaluate periodic job, at the (travelled) current time."""
    return run_job("monitor.evaluate")


def job(name: str):
    return run_job(name)


def sweeps() -> None:
    call_command("run_sweeps", stdout=io.StringIO())


def alerts(staff, rule: str, **filters) -> list[dict]:
    """The rule's alerts, newest first, as web3.monitor.history shows them."""
    return staff.call("web3.monitor.history", {"rule": rule, **filters}).result["items"]


def rule(staff, name: str) -> dict:
    items = staff.call("web3.monitor.listRules").result["items"]
    return next(r for r in items if r["name"] == name)


def firing(staff) -> list[str]:
    """Names of the rules with an unresolved alert."""
    return sorted(r["name"] for r in staff.call("web3.monitor.listRules").result["items"] if r["firingAlertId"])


def kinds(alert: dict) -> list[tuple[str, float]]:
    return [(o["kind"], o["value"]) for o in alert["observations"]]
