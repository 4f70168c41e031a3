"""Gateway overhead, measured through gunicorn against a trivial Django view on the same server.

    .venv/bin/python bench/gateway.py [--seconds 5] [--clients 4] [--workers 2] [--threads 4]

Starts gunicorn (openclaw/gunicorn.conf.py) on a free loopback port with its own var/ in a temporary
folder (SQLite, embedded broker; init_keys and migrate first), signs in with a new wallet through
SIWE, then measures requests/s of
  - baseline: GET /bench/plain, a trivial Django view (bench/urls.py; not a product route),
  - GET  /api/v1/web3.capabilities.list,
  - POST /api/v1/web3.identity.whoami with the bearer token,
with a few client threads (httpx, keep-alive), each phase bounded in time and in request count, and
prints the three rates and the two ratios. Only loopback traffic. Stops the server at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(var_dir: Path, port: int, workers: int, threads: int, store: dict | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "WEB3_VAR_DIR": str(var_dir),
            "WEB3_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": str(workers),
            "WEB3_THREADS": str(threads),
            # the limiter still counts every call; the limit is just out of reach
            "WEB3_DEFAULT_RATE_LIMIT": "100000000/m",
            "LOG_LEVEL": "WARNING",
            **(store or {}),
        }
    )
    return env


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not come up in time")


def sign_in(base: str) -> str:
    wallet = Account.create()
    with httpx.Client(base_url=base + "/api/v1/", timeout=10) as http:
        challenge = http.post("web3.siwe.challenge", json={"address": wallet.address}).json()["result"]
        sig = wallet.sign_message(encode_defunct(text=challenge["message"])).signature.hex()
        verified = http.post(
            "web3.siwe.verify",
            json={
                "message": challenge["message"],
                "signature": sig if sig.startswith("0x") else "0x" + sig,
            },
        ).json()
    return verified["result"]["token"]


def measure(
    base: str,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None,
    body: bytes | None,
    clients: int,
    seconds: float,
    max_requests: int,
    warmup: int = 30,
) -> tuple[float, int, int]:
    """(requests/s, requests done, non-200 answers) over `seconds`, at most `max_requests`."""
    lock = threading.Lock()
    state = {"left": max_requests, "done": 0, "bad": 0}
    start_gate = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
            for _ in range(warmup):
                http.request(method, path, content=body)
            start_gate.wait()
            done = bad = 0
            while time.monotonic() < stop_at[0]:
                with lock:
                    if state["left"] <= 0:
                        break
                    state["left"] -= 1
                r = http.request(method, path, content=body)
                done += 1
                bad += r.status_code != 200
            with lock:
                state["done"] += done
                state["bad"] += bad

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + 3600  # set for real once everyone has warmed up
    start_gate.wait()
    started = time.monotonic()
    stop_at[0] = started + seconds
    for t in threads:
        t.join(seconds + 30)
    elapsed = time.monotonic() - started
    return state["done"] / elapsed, state["done"], state["bad"]


def api_call(http: httpx.Client, method: str, token: str, params: dict) -> dict:
    """One call with a bearer token; its result, or exit naming the error code."""
    r = http.post(method, json=params, headers={"Authorization": f"Bearer {token}"}).json()
    if not r.get("ok"):
        raise SystemExit(f"{method} failed: {r['error']['code']}")
    return r["result"]


def credit(env: dict[str, str], actor_id: str, amount: str, currency: str = "USDC") -> None:
    """Credit an actor on the bench server's store (manage.py credit, as an operator would)."""
    subprocess.run(
        [PYTHON, "manage.py", "credit", actor_id, amount, currency],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=120,
    )


def publish_search(http: httpx.Client, provider_token: str) -> str:
    """A search resource at 0.01 USDC a query (its endpoint is never called by the benches); its id."""
    params = {
        "kind": "search",
        "name": "bench search",
        "backend": "searxng",
        "endpoint": "https://search.example.net",
        "pricing": {"unit": "query", "unitPrice": "0.01", "currency": "USDC"},
    }
    return api_call(http, "web3.resources.publish", provider_token, params)["resourceId"]


@contextmanager
def bench_server(
    prefix: str, workers: int, threads: int, store: dict | None = None
) -> Iterator[tuple[str, int, dict[str, str]]]:
    """A migrated market under gunicorn on a free loopback port with a throw-away var/ (the bench
    settings; SQLite unless `store` names a DATABASE_URL): yields (base URL, port, the server's
    environment); stops it and removes var/ after."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(tmp / "var", port, workers, threads, store)
    proc = None
    try:
        for command in (["init_keys"], ["migrate", "--noinput", "-v", "0"]):
            subprocess.run(
                [PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, timeout=300
            )
        with open(tmp / "server.log", "wb") as log:
            proc = subprocess.Popen(
                [GUNICORN, "-c", "openclaw/gunicorn.conf.py", "openclaw.wsgi:application"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_ready(base, proc)
        yield base, port, env
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per endpoint (max 60)")
    parser.add_argument("--clients", type=int, default=4, help="client threads (max 16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--max-requests", type=int, default=50000, help="cap per endpoint")
    args = parser.parse_args()
    seconds = min(max(args.seconds, 0.5), 60.0)
    clients = min(max(args.clients, 1), 16)

    with bench_server("openclaw-bench-", args.workers, args.threads) as (base, port, _env):
        token = sign_in(base)
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        print(
            f"gunicorn: {args.workers} workers x {args.threads} threads on 127.0.0.1:{port}; "
            f"{clients} client threads; {seconds:g} s per endpoint (SQLite, local-memory cache)"
        )
        phases = [
            ("baseline  GET  /bench/plain (trivial Django view)", "GET", "/bench/plain", None, None),
            ("gateway   GET  web3.capabilities.list", "GET", "/api/v1/web3.capabilities.list", None, None),
            ("gateway   POST web3.identity.whoami (SIWE token)", "POST", "/api/v1/web3.identity.whoami", auth, b"{}"),
        ]
        rates = {}
        for label, method, path, headers, body in phases:
            rate, done, bad = measure(
                base,
                method,
                path,
                headers=headers,
                body=body,
                clients=clients,
                seconds=seconds,
                max_requests=args.max_requests,
            )
            rates[path] = rate
            note = f"  ({bad} non-200!)" if bad else ""
            print(f"{label:<52} {rate:9.1f} req/s  ({done} requests){note}")
        plain = rates["/bench/plain"]
        print(f"ratio capabilities.list / baseline: {rates['/api/v1/web3.capabilities.list'] / plain:.2f}")
        print(f"ratio identity.whoami   / baseline: {rates['/api/v1/web3.identity.whoami'] / plain:.2f}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
