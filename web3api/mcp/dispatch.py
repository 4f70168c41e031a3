"""A tool call is an HTTP call the market answers in-process: the request goes through Django's
WSGI handler (middleware, the method's URL pattern, the gateway's permission, throttle,
Idempotency-Key claim, transaction and envelope), exactly as `POST /api/v1/<method>` would. There
is no second implementation of any method or rule here.
"""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

_handler: WSGIHandler | None = None


def _wsgi() -> WSGIHandler:
    global _handler  # noqa: PLW0603 - one handler per process, built on first use (it loads middleware)
    if _handler is None:
        _handler = WSGIHandler()
    return _handler


def _host() -> str:
    """A host the market accepts (ALLOWED_HOSTS), which is also the SIWE domain unless
    WEB3_SIWE_DOMAIN names one."""
    for host in settings.ALLOWED_HOSTS:
        if host not in ("*", "") and not host.startswith("."):
            return host
    return "localhost"


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return self.body.get("ok") is True


def call(
    method: str,
    params: dict[str, Any] | None,
    *,
    token: str | None,
    idempotency_key: str | None = None,
    remote_addr: str = "127.0.0.1",
) -> Answer:
    """POST params to the method through the market's own request handling; blocking (run it in a
    worker thread from async code)."""
    raw = json.dumps(params or {}).encode()
    host = _host()
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": f"/api/v1/{method}",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(raw)),
        "SERVER_NAME": host.strip("[]"),
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        "REMOTE_ADDR": remote_addr,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(raw),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if idempotency_key:
        environ["HTTP_IDEMPOTENCY_KEY"] = idempotency_key
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info=None):
        started["status"] = int(status.split(" ", 1)[0])
        started["headers"] = dict(headers)

    response = _wsgi()(environ, start_response)
    try:
        content = b"".join(response)
    finally:
        # Closing the response sends request_finished: the thread's connection is tidied as after
        # any request.
        response.close()
    return Answer(started["status"], json.loads(content), started["headers"])
