"""A small deployment on one machine: web servers (gunicorn, each with its own var/), Celery workers
and one beat, all on one scratch PostgreSQL database and one Redis, started as real processes
with the production settings (openclaw.settings), as deploy/ describes. For the tests that show
nothing lives in one process's memory that another needs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bench.gateway import GUNICORN, PYTHON, ROOT, free_port
from tests.conftest import Response

CELERY = str(Path(PYTHON).with_name("celery"))
KEYS = {
    "SECRET_KEY": "cluster-test-secret-key-not-for-production-0123456789abcdef",
    "WEB3_SECRETS_KEY": "n8OQmG7mFZ7u5P4gq1oQe0qz3s1m0cK1yXlS7c9l0mA=",
    "WEB3_CHECKPOINT_KEY": "0x" + "4c" * 32,
}


class Cluster:
    def __init__(
        self, database_url: str, redis_url: str, *, web: int = 2, workers: int = 2, chain: bool = False
    ) -> None:
        parts = urlsplit(database_url)
        self.name = f"openclaw_cluster_{os.getpid()}"
        self.admin_url = urlunsplit(parts._replace(path="/postgres"))
        self.db_url = urlunsplit(parts._replace(path=f"/{self.name}"))
        base = redis_url.rsplit("/", 1)[0]
        self.redis = {"CELERY_BROKER_URL": f"{base}/14", "REDIS_URL": f"{base}/15"}
        self.tmp = Path(tempfile.mkdtemp(prefix="openclaw-cluster-"))
        self.web_count, self.worker_count = web, workers
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.bases: list[str] = []
        self.chain = chain
        self.shared: dict[str, str] = {}  # settings every process gets (the local chain's file)
        self.devchain: dict | None = None

    def env(self, role: str, **extra: str) -> dict[str, str]:
        var = self.tmp / role
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WEB3_", "DJANGO_", "PROMETHEUS_"))}
        env.update(KEYS)
        env.update(self.redis)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "openclaw.settings",
                "DATABASE_URL": self.db_url,
                "WEB3_VAR_DIR": str(var),
                "WEB3_ALLOW_PRIVATE_ENDPOINTS": "true",
                "WEB3_SWEEP_INTERVAL_SEC": "2",
                # behind one proxy every server signs in for one domain (deploy/ sets it too)
                "WEB3_SIWE_DOMAIN": "market.example",
                "LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(ROOT),
                **self.shared,
                **extra,
            }
        )
        return env

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env("manage"), capture_output=True, text=True, timeout=300
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {args[0]} failed: {done.stderr[-2000:]}")
        return done.stdout

    def _start(self, role: str, cmd: list[str], **extra: str) -> None:
        log = (self.tmp / f"{role}.log").open("wb")
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env(role, **extra), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.procs.append((role, proc))

    def __enter__(self) -> Cluster:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
            conn.execute(f'CREATE DATABASE "{self.name}"')
        try:
            if self.chain:
                self._launch_devchain()  # it boots while the database is migrated
            self.manage("migrate", "--noinput", "-v", "0")
            if self.chain:
                self._await_devchain()
            for i in range(self.web_count):
                port = free_port()
                self.bases.append(f"http://127.0.0.1:{port}")
                gunicorn = [GUNICORN, "-c", "openclaw/gunicorn.conf.py", "openclaw.wsgi:application"]
                self._start(f"web{i}", gunicorn, WEB3_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1")
            for i in range(self.worker_count):
                worker = [CELERY, "-A", "openclaw", "worker", "-l", "WARNING", "--concurrency", "1", "-n", f"w{i}@%h"]
                self._start(f"worker{i}", worker)
            self._start("beat", [CELERY, "-A", "openclaw", "beat", "-l", "WARNING", "-s", str(self.tmp / "beat-sched")])
            for base in self.bases:
                self._wait(base)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _launch_devchain(self) -> None:
        """`manage.py devchain` (eth-tester over JSON-RPC) as a process of its own, as scripts/run
        starts it; every other process reads its var/chain/devchain.json (WEB3_DEVCHAIN_FILE)."""
        self.devchain_port = free_port()
        self._start("devchain", [PYTHON, "manage.py", "devchain", "--port", str(self.devchain_port)])

    def _await_devchain(self) -> None:
        port = self.devchain_port
        info = self.tmp / "devchain" / "chain" / "devchain.json"
        devchain = next(proc for role, proc in self.procs if role == "devchain")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if devchain.poll() is not None:
                raise RuntimeError("devchain exited: " + self.log("devchain"))
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}",
                    data=b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}',
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=1):  # noqa: S310 - loopback
                    break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError("devchain did not answer in time")
        self.devchain = json.loads(info.read_text())
        self.shared["WEB3_DEVCHAIN_FILE"] = str(info)

    def _wait(self, base: str) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            for role, proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{role} exited: " + self.log(role))
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1):  # noqa: S310 - loopback
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("a web server did not answer /healthz in time")

    def log(self, role: str) -> str:
        return (self.tmp / f"{role}.log").read_text(errors="replace")[-3000:]

    def __exit__(self, *exc) -> None:
        for _, proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _, proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        shutil.rmtree(self.tmp, ignore_errors=True)


class AlternatingApi:
    """The API as a client behind a load balancer sees it: each call goes to the next web server.
    Same interface as tests.conftest.Api (call, token, actor_id, account)."""

    def __init__(self, bases: list[str], token: str | None = None, actor_id: str | None = None, account=None):
        self.bases, self.token, self.actor_id, self.account = bases, token, actor_id, account
        self.turn = 0
        self.served: list[str] = []

    def call(self, method: str, params: dict | None = None, *, idempotency_key: str | None = None) -> Response:
        base = self.bases[self.turn % len(self.bases)]
        self.turn += 1
        self.served.append(base)
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        body = json.dumps(params or {}).encode()
        url = f"{base}/api/v1/{method}"  # http://127.0.0.1:<port>, made here
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as r:  # noqa: S310 - loopback
                return Response(r.status, json.loads(r.read()), dict(r.headers))
        except urllib.error.HTTPError as e:
            return Response(e.code, json.loads(e.read()), dict(e.headers))
