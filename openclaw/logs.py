"""The request's correlation id, and JSON log lines that carry it.

Every request gets a correlation id: the proxy's X-Request-ID when it is a plain token (nginx's
$request_id), else a new one. It is sent back as X-Correlation-ID, names an unexpected error's
E_INTERNAL answer (web3api.errors), and is on every log line written while the request runs, so
the answer a client quotes leads to the server's lines. Celery tasks get their task id.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from datetime import UTC, datetime

_current: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")
_TOKEN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def correlation_id() -> str:
    """The current request's (or task's) correlation id; '' outside of both."""
    return _current.get()


def new_correlation_id() -> str:
    return uuid.uuid4().hex


class CorrelationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        token = _current.set(given if _TOKEN.match(given) else new_correlation_id())
        try:
            response = self.get_response(request)
            response["X-Correlation-ID"] = _current.get()
            return response
        finally:
            _current.reset(token)


def bind_task_correlation(task_id: str | None) -> None:
    """Celery's task_prerun: the task's lines carry its id."""
    _current.set(task_id or "")


class CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = _current.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, correlationId, and the exception's
    type and traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlationId": getattr(record, "correlation_id", "") or _current.get(),
        }
        if record.exc_info:
            line["exception"] = record.exc_info[0].__name__ if record.exc_info[0] else ""
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)
