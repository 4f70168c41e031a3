"""A real gunicorn (openclaw/gunicorn.conf.py) on a free loopback port, with a throw-away var/
and SQLite, serving the test settings (so the test-only methods exist there too). For tests that
need the web server itself, not Django's test client: request-line and header limits."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.gateway import GUNICORN, PYTHON, ROOT, free_port

_DROPPED = ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR", "WEB3_TEST_DB_NAME")


def server_env(var_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "WEB3_VAR_DIR": str(var_dir),
            "WEB3_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "1",
            "WEB3_THREADS": "2",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def gunicorn_config() -> dict[str, str]:
    """The settings gunicorn resolves from openclaw/gunicorn.conf.py (`--print-config`)."""
    tmp = Path(tempfile.mkdtemp(prefix="openclaw-gunicorn-config-"))
    try:
        out = subprocess.run(
            [GUNICORN, "-c", "openclaw/gunicorn.conf.py", "--print-config", "openclaw.wsgi:application"],
            cwd=ROOT,
            env=server_env(tmp, 0),
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {name.strip(): value.strip() for name, _, value in (line.partition("=") for line in out.splitlines())}


class GunicornServer:
    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="openclaw-gunicorn-"))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> GunicornServer:
        env = server_env(self.tmp / "var", self.port)
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=300,
        )
        self.log = open(self.tmp / "server.log", "wb")  # noqa: SIM115 - closed in __exit__
        self.proc = subprocess.Popen(
            [GUNICORN, "-c", "openclaw/gunicorn.conf.py", "openclaw.wsgi:application"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited during start-up: " + (self.tmp / "server.log").read_text()[-2000:])
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1):  # noqa: S310 - loopback
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("gunicorn did not answer /healthz in time")

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
