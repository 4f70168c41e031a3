"""What the fault tests break and mend: the cluster of tests/cluster.py whose processes can be
killed and started again one by one, a Redis of their own (never the machine's), an alert webhook
receiver that can be told to hang, and a look into PostgreSQL's own view of its sessions."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg

from bench.gateway import free_port
from tests.cluster import PYTHON, ROOT, Cluster


def wait_for(fn, what: str, timeout: float = 60, every: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


class RedisServer:
    """redis-server on a free loopback port, nothing saved: stopped with SIGKILL it comes back
    empty (queued messages lost), as a crashed Redis without persistence would."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = Path(tempfile.mkdtemp(prefix="openclaw-faults-redis-"))
        self.proc: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        cmd += ["--dir", str(self.dir)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.ping, "redis-server to answer", 20, 0.05)
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class FaultCluster(Cluster):
    """Each process names itself to PostgreSQL (application_name = its role), so a test can tell
    whose session waits where; `kill` and `start` act on one role, with the command it began with."""

    def __init__(self, database_url: str, redis: RedisServer, **kwargs) -> None:
        super().__init__(database_url, redis.url, **kwargs)
        self.commands: dict[str, list[str]] = {}
        self.extras: dict[str, dict[str, str]] = {}

    def env(self, role: str, **extra: str) -> dict[str, str]:
        env = super().env(role, **extra)
        env["DATABASE_URL"] = f"{self.db_url}?application_name={role}"
        return env

    def _start(self, role: str, cmd: list[str], **extra: str) -> None:
        self.commands[role], self.extras[role] = cmd, extra
        with (self.tmp / f"{role}.log").open("ab") as log:
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=self.env(role, **extra), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.procs.append((role, proc))

    def _await_devchain(self) -> None:
        super()._await_devchain()
        # the audit log is anchored on the same local chain, from a key of its own
        self.shared["WEB3_ANCHOR_RPC_URL"] = self.devchain["rpcUrl"]
        self.shared["WEB3_ANCHOR_PRIVATE_KEY"] = self.devchain["accounts"][-1]["privateKey"]

    def __exit__(self, *exc) -> None:
        # Nothing here needs a graceful stop: the scratch database is dropped whatever was running.
        for _, proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        super().__exit__(*exc)

    def manage_in_background(self, *args: str) -> subprocess.Popen:
        """A manage.py command run beside the test's own work (its output discarded)."""
        cmd = [PYTHON, "manage.py", *args]
        return subprocess.Popen(cmd, cwd=ROOT, env=self.env("manage"), stdout=subprocess.DEVNULL)

    def proc(self, role: str) -> subprocess.Popen:
        return [p for r, p in self.procs if r == role][-1]

    def kill(self, role: str, sig: int = signal.SIGKILL) -> None:
        """Signal the role's whole process group (a Celery worker's pool children, gunicorn's
        workers) and wait for its leader to end."""
        proc = self.proc(role)
        os.killpg(proc.pid, sig)
        proc.wait(30)
        self.procs = [(r, p) for r, p in self.procs if p is not proc]

    def start(self, role: str) -> None:
        self._start(role, self.commands[role], **self.extras[role])
        if role.startswith("web"):
            self._wait(self.bases[int(role[3:])])

    def role_holding(self, local_port: int) -> str:
        """The role whose process holds the loopback TCP connection from `local_port` (its socket
        found in /proc/net/tcp, then among the processes' open files)."""
        inodes = {
            parts[9]
            for parts in (line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:])
            if int(parts[1].rsplit(":", 1)[1], 16) == local_port
        }
        leaders = {proc.pid: role for role, proc in self.procs if proc.poll() is None}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                group = os.getpgid(int(pid))
                if group in leaders and any(
                    os.readlink(f"/proc/{pid}/fd/{fd}").removeprefix("socket:[").rstrip("]") in inodes
                    for fd in os.listdir(f"/proc/{pid}/fd")
                ):
                    return leaders[group]
            except OSError:  # the process ended meanwhile
                continue
        raise AssertionError(f"no process of the cluster holds the connection from port {local_port}")

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def sessions_waiting(self, role: str) -> list[int]:
        """Backend pids of the role's sessions waiting for a row lock."""
        rows = self.sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s "
            "AND wait_event_type = 'Lock'",
            (role,),
        )
        return [pid for (pid,) in rows]


class HeldLock:
    """A lock held by the test in a transaction of its own, until `release`: whoever needs what it
    locks waits there, in the middle of its transaction, for as long as the test likes."""

    def __init__(self, cluster: FaultCluster, query: str, params: tuple = ()) -> None:
        self.conn = psycopg.connect(cluster.db_url)
        self.conn.execute(query, params)

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()

    def __enter__(self) -> HeldLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


# Every money transaction's last write is its audit leaf: with the leaves' table held in SHARE mode,
# a writer waits at that INSERT, its other rows written, in the middle of its transaction.
AUDIT_LEAVES = "LOCK TABLE market_auditevent IN SHARE MODE"


class WebhookReceiver:
    """The operator's alert webhook on loopback. It answers 200 and keeps what it received, with
    the X-Web3-Notification-Id of each; `hang_next()` makes the next request wait unanswered until
    the test lets go (its sender is killed meanwhile)."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.held: dict | None = None  # the request left hanging
        self.answered: list[str] = []  # notification ids answered 200
        self.hang = threading.Event()
        self.hanging = threading.Event()
        self.let_go = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                nid = self.headers.get("X-Web3-Notification-Id", "")
                record = {"id": nid, "event": body["event"], "alert": body["alert"], "port": self.client_address[1]}
                with receiver.lock:
                    receiver.received.append(record)
                    hang = receiver.hang.is_set()
                    receiver.hang.clear()
                if hang:
                    receiver.held = record
                    receiver.hanging.set()
                    receiver.let_go.wait(30)
                    return  # never answered: the sender is gone
                with receiver.lock:
                    receiver.answered.append(nid)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/alerts"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def hang_next(self) -> None:
        self.hanging.clear()
        self.let_go.clear()
        self.hang.set()

    def close(self) -> None:
        self.let_go.set()
        self.httpd.shutdown()
        self.httpd.server_close()
