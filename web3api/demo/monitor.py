"""Demo step for monitoring: the default rules, one demo rule that the demo's open dispute trips
(so the console shows a firing alert with its history), and a first evaluation."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from market.models import AlertRule
from market.services import monitor

DEMO_RULE = "demo-disputes-open"


def step_monitor(wallets, out: Callable[[str], None]) -> None:
    made = monitor.default_rules_install()
    if made:
        out(f"installed {made} default alert rules")
    if not AlertRule.objects.filter(name=DEMO_RULE).exists():
        monitor.rule_upsert(
            by_actor_id="system",
            name=DEMO_RULE,
            severity="P1",
            metric="disputes_open",
            comparator="gt",
            threshold=Decimal(0),
            window_sec=300,
            for_sec=0,
            description="Demo: any dispute awaiting a ruling (an arbitrator should look).",
        )
        out(f"alert rule {DEMO_RULE}: P1 when any dispute awaits a ruling")
    result = monitor.monitor_evaluate()
    out(f"alert rules evaluated: {result}")
