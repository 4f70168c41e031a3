"""The operator's overview as stored figures: the overview job (`monitor.overview`, run by beat
after the monitor has evaluated the alerts and read the invariants) computes the figures of
web3.admin.overview, the health by part included, and stores them; the console's overview page
and web3.admin.overview read them back in one query, with when they were computed. Until the job
has run once, a read computes them (and does not store them: reads never write)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from market.selectors import operator
from market.services.snapshots import overview_snapshot, overview_snapshot_store
from web3api import status
from web3api.shapes.operator import OverviewFigures


def overview_compute() -> dict[str, Any]:
    """The figures now (whole-table counts and sums, and every health check), as JSON values."""
    started = time.perf_counter()
    figures = OverviewFigures(replace(operator.operator_overview(), market_status=status.summary())).data
    out = json.loads(json.dumps(figures, cls=DjangoJSONEncoder))
    out["computedAt"] = out["checkedAt"]
    out["tookMs"] = int((time.perf_counter() - started) * 1000)
    return out


def overview_refresh() -> str:
    """The periodic job: compute the overview and store it."""
    figures = overview_compute()
    overview_snapshot_store(figures=figures, computed_at=timezone.now(), took_ms=figures["tookMs"])
    return f"overview computed in {figures['tookMs']} ms"


def overview_read(*, fresh: bool = False) -> dict[str, Any]:
    """The stored figures (`stored: true`), or computed now when asked or never stored yet."""
    snapshot = None if fresh else overview_snapshot()
    if snapshot is None:
        return {**overview_compute(), "stored": False}
    return {**snapshot.figures, "stored": True}
