"""Periodic jobs. WEB3_PERIODIC_JOBS names each job once (name -> dotted function); Celery beat
runs each through `run_periodic_job_task`, and `manage.py run_sweeps` runs them all once. Every
job finds its work by state, so running one twice, or two at once, is safe."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from openclaw.celery import app

log = logging.getLogger("openclaw.periodic")


def run_job(name: str) -> Any:
    path = settings.WEB3_PERIODIC_JOBS[name]
    started = time.perf_counter()
    try:
        result = import_string(path)()
    except Exception:
        if name in settings.WEB3_MONEY_JOBS:
            from market.services.monitor import failure_record

            failure_record(operation=f"job:{name}", kind="internal")
        raise
    log.info("periodic job %s done in %.3fs: %s", name, time.perf_counter() - started, result)
    return result


def run_all() -> dict[str, dict[str, Any]]:
    """Run every job once, in declaration order; a failing job does not stop the others."""
    report: dict[str, dict[str, Any]] = {}
    for name in settings.WEB3_PERIODIC_JOBS:
        try:
            report[name] = {"ok": True, "result": run_job(name)}
        except Exception:  # noqa: BLE001 - reported, and the command exits non-zero
            log.exception("periodic job %s failed", name)
            report[name] = {"ok": False, "result": "failed (see the log)"}
    return report


@app.task(name="openclaw.periodic.run_periodic_job_task", ignore_result=True)
def run_periodic_job_task(name: str) -> None:
    run_job(name)
