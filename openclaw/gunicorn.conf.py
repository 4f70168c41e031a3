"""gunicorn settings. Prometheus metrics are aggregated across worker processes through
prometheus_client's multiprocess mode: every worker writes its samples to files under
PROMETHEUS_MULTIPROC_DIR, /metrics merges them, and a dead worker's gauges are dropped."""

import os
import shutil
from pathlib import Path

_var = Path(os.environ.get("WEB3_VAR_DIR") or Path(__file__).resolve().parent.parent / "var")
# Under the same var/ as the rest (WEB3_VAR_DIR): on_starting empties this folder, so a second
# server with its own var/ must not share it.
_multiproc = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_var / "prometheus")))

bind = os.environ.get("WEB3_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB3_THREADS", "4"))
timeout = 60
# The request line holds a GET's params: every documented param at its documented maximum length,
# URL-encoded at worst (12 bytes a character), must fit, or gunicorn answers 414 before the market
# can (tests/api/test_request_limits.py derives the need from the registry). 8190 is gunicorn's
# largest finite limit. Headers: a bearer token, an Idempotency-Key (255), a console's cookies.
limit_request_line = 8190
limit_request_field_size = 8190
limit_request_fields = 100
# gunicorn's control socket defaults to one path per user (~/.gunicorn/): keep it per var/ so two
# servers (say the market and a benchmark) never share it.
control_socket = str(_var / "run" / "gunicorn.ctl")
accesslog = "-"
# The access log shows the path only: no query strings (tokens in query strings are ignored, but
# should never be written down either).
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


def on_starting(server):
    shutil.rmtree(_multiproc, ignore_errors=True)
    _multiproc.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
