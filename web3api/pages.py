"""Plain pages: liveness and Prometheus exposition."""

import os

from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from web3api.metrics import MarketCollector


@require_GET
def healthz(request):
    """Liveness only: the process answers. No database access, so no database write."""
    return JsonResponse({"ok": True})


@require_GET
def metrics(request):
    """Process metrics (merged across gunicorn workers in multiprocess mode), then the market's
    figures read from the database for this scrape."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    market = CollectorRegistry()
    market.register(MarketCollector())
    return HttpResponse(generate_latest(registry) + generate_latest(market), content_type=CONTENT_TYPE_LATEST)
