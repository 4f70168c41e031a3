"""Prometheus metrics. Under gunicorn, PROMETHEUS_MULTIPROC_DIR is set before this module is
imported (see openclaw/gunicorn.conf.py), so every worker's samples are merged by /metrics."""

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "web3_requests_total", "web3.* method calls by method and outcome code", ["method", "code"]
)
LATENCY = Histogram(
    "web3_request_seconds", "web3.* method latency in seconds", ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
