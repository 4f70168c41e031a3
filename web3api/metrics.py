"""Prometheus metrics.

Request counters and latency are process metrics: under gunicorn, PROMETHEUS_MULTIPROC_DIR is set
before this module is imported (see openclaw/gunicorn.conf.py), so every worker's samples are
merged by /metrics. The market's own figures (settlements past due, failures, unsealed events,
anchor lag, disputes, alerts) are read from the database at scrape time by MarketCollector, so
they are the same whichever process answers and include what Celery workers did."""

from __future__ import annotations

import logging

from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

log = logging.getLogger("web3api.metrics")

REQUESTS = Counter("web3_requests_total", "web3.* method calls by method and outcome code", ["method", "code"])
LATENCY = Histogram(
    "web3_request_seconds",
    "web3.* method latency in seconds",
    ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# market metric -> (Prometheus name, help); rate metrics are exported over 5 minutes.
GAUGES = {
    "settlements_past_due": ("web3_settlements_past_due", "Open settlements past their lease expiry or payout time"),
    "settlement_failure_rate": (
        "web3_settlement_failure_ratio",
        "Failed money operations / (failed + transfers written), last 5 minutes",
    ),
    "lease_invoke_failure_rate": (
        "web3_lease_invoke_failure_ratio",
        "Failed / finished lease invocations started in the last 5 minutes",
    ),
    "audit_unsealed_events": ("web3_audit_unsealed_events", "Audit events not yet sealed in a checkpoint"),
    "audit_unsealed_age_seconds": ("web3_audit_unsealed_age_seconds", "Age of the oldest unsealed audit event"),
    "anchor_lag_seconds": ("web3_anchor_lag_seconds", "Age of the oldest checkpoint not yet anchored on the chain"),
    "anchor_failures": ("web3_anchor_failures", "Checkpoints whose anchoring failed and is not done yet"),
    "disputes_open": ("web3_disputes_open", "Disputes awaiting a ruling (open or appealed)"),
    "disputes_past_window": ("web3_disputes_past_window", "Rulings past their appeal window, not yet paid out"),
    "dispute_unresolved_seconds": (
        "web3_dispute_unresolved_seconds",
        "How long the oldest dispute awaiting a ruling has waited",
    ),
    "invariant_violations": (
        "web3_invariant_violations",
        "Objects breaking an invariant or stuck in a state, at the last monitor run",
    ),
}


class MarketCollector:
    """Reads the market's figures from the database on each scrape. A failed read leaves the
    market's metrics out of that scrape (and says so in web3_market_metrics_up) rather than
    failing the scrape."""

    def collect(self):
        up = GaugeMetricFamily("web3_market_metrics_up", "1 when the market's figures were read for this scrape")
        try:
            families = list(self._families())
        except Exception:  # noqa: BLE001 - a scrape must still answer
            log.exception("reading the market metrics failed")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    @staticmethod
    def _families():
        from django.db.models import Count

        from market.models import OperationFailure
        from market.selectors.monitor import firing_alerts, metric_values, monitor_health

        for m in metric_values():
            if m.metric.name in GAUGES and m.value is not None:
                name, doc = GAUGES[m.metric.name]
                g = GaugeMetricFamily(name, doc)
                g.add_metric([], float(m.value))
                yield g
        failures = CounterMetricFamily(
            "web3_ledger_failures",
            "Money operations that failed for the market's reasons (unexpected errors, exhausted retries)",
            labels=["operation", "kind"],
        )
        for row in OperationFailure.objects.values("operation", "kind").annotate(n=Count("pk")).order_by():
            failures.add_metric([row["operation"], row["kind"]], row["n"])
        yield failures
        health = monitor_health()
        if health["evaluationAgeSec"] is not None:
            age = GaugeMetricFamily(
                "web3_monitor_evaluation_age_seconds",
                "Seconds since the alert rules were last evaluated (monitor.evaluate)",
            )
            age.add_metric([], health["evaluationAgeSec"])
            yield age
        undelivered = GaugeMetricFamily(
            "web3_alert_notifications_undelivered",
            "Alert notifications not delivered: retrying, or given up in the last day",
            labels=["state"],
        )
        undelivered.add_metric(["retrying"], health["retrying"])
        undelivered.add_metric(["given_up"], health["givenUp"])
        yield undelivered
        yield from _chain_families()
        alerts = GaugeMetricFamily("web3_alerts_firing", "Unresolved alerts by severity", labels=["severity"])
        counts = {"P0": 0, "P1": 0}
        for a in firing_alerts():
            counts[a.severity] = counts.get(a.severity, 0) + 1
        for severity, n in sorted(counts.items()):
            alerts.add_metric([severity], n)
        yield alerts


def _chain_families():
    """Funds on chain: how far the deposit job is behind the head, its last block, live withdrawals."""
    from market.selectors.funds import chain_figures

    figures = chain_figures()
    for key, name, doc in (
        ("head_lag", "web3_chain_head_lag_blocks", "Blocks between the chain head and the deposit job's last block"),
        ("last_block", "web3_chain_last_processed_block", "The last block the deposit job finished"),
        ("pending_withdrawals", "web3_funds_pending_withdrawals", "Withdrawals not yet completed or refunded"),
    ):
        if figures[key] is not None:
            g = GaugeMetricFamily(name, doc)
            g.add_metric([], figures[key])
            yield g
