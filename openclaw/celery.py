"""The Celery app. Broker from CELERY_BROKER_URL, else kombu's filesystem transport under var/."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openclaw.settings")

app = Celery("openclaw")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(related_name="jobs")  # each app's Celery jobs live in its jobs.py


@signals.task_prerun.connect
def _task_correlation(task_id=None, **_kwargs):
    from openclaw.logs import bind_task_correlation

    bind_task_correlation(task_id)


def _json_logs(**_kwargs):
    """The worker and beat log through the market's LOGGING (JSON lines) instead of Celery's own
    format (connecting this signal is what stops Celery's own setup)."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


if os.environ.get("WEB3_LOG_FORMAT") == "json":
    signals.setup_logging.connect(_json_logs, weak=False)
