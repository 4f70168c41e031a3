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
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
        process_metrics = generate_latest(registry)
    else:
        process_metrics = generate_latest(REGISTRY)
    market = CollectorRegistry()
    market.register(MarketCollector())
    return HttpResponse(process_metrics + generate_latest(market), content_type=CONTENT_TYPE_LATEST)
