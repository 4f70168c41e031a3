"""The default alert rules: migration 0008 installed a frozen copy of this list; `manage.py demo`
and the tests install whichever are missing from here. Operators change them with
web3.monitor.upsertRule (by name)."""

DEFAULT_RULES = [
    # name, severity, metric, threshold, window_sec, for_sec, description
    (
        "settlement-failure-rate",
        "P0",
        "settlement_failure_rate",
        "0.05",
        300,
        0,
        "More than 5% of money operations failed for the market's reasons in the last 5 minutes.",
    ),
    (
        "audit-unsealed",
        "P0",
        "audit_unsealed_events",
        "100",
        300,
        120,
        "More than 100 audit events are waiting for a checkpoint (for 2 minutes).",
    ),
    (
        "audit-unsequenced",
        "P0",
        "audit_unsequenced_age_seconds",
        "60",
        300,
        0,
        "An audit event has waited more than 60 seconds for its position in the log (the sequencer is stuck).",
    ),
    (
        "dispute-unresolved-24h",
        "P0",
        "dispute_unresolved_seconds",
        "86400",
        300,
        0,
        "A dispute has waited for a ruling for more than 24 hours.",
    ),
    (
        "invariant-violation",
        "P0",
        "invariant_violations",
        "0",
        300,
        0,
        "A ledger invariant is broken or an object is stuck past its deadline; the details name them.",
    ),
    (
        "settlements-past-due",
        "P1",
        "settlements_past_due",
        "20",
        300,
        120,
        "More than 20 open settlements are past their lease expiry or payout time (for 2 minutes).",
    ),
    (
        "lease-invoke-failure-rate",
        "P1",
        "lease_invoke_failure_rate",
        "0.10",
        300,
        0,
        "More than 10% of invocations in the last 5 minutes failed (provider down, 5xx or timeout).",
    ),
    (
        "anchor-lag",
        "P1",
        "anchor_lag_seconds",
        "900",
        300,
        0,
        "A checkpoint has waited more than 15 minutes for its anchor on the chain.",
    ),
]


def install(rule_model) -> int:
    """Create whichever default rules `rule_model` lacks; returns how many."""
    from decimal import Decimal

    made = 0
    for name, severity, metric, threshold, window_sec, for_sec, description in DEFAULT_RULES:
        _, created = rule_model.objects.get_or_create(
            name=name,
            defaults={
                "severity": severity,
                "metric": metric,
                "comparator": "gt",
                "threshold": Decimal(threshold),
                "window_sec": window_sec,
                "for_sec": for_sec,
                "description": description,
                "enabled": True,
            },
        )
        made += created
    return made
