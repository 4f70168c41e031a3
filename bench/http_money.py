"""Money operations through HTTP against a trivial view, on the same gunicorn, in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/http_money.py \
        [--seconds 5] [--clients 8] [--workers 4] [--threads 2]

Starts the market under gunicorn (openclaw/gunicorn.conf.py, bench.settings) on a free loopback
port with a throw-away var/, on a scratch PostgreSQL database (created and dropped; the server named
by DATABASE_URL) or, without DATABASE_URL, on SQLite. Signs in one provider and one consumer per
client through SIWE, credits each consumer (manage.py credit), publishes a resource; then measures
requests/s of
  - baseline: GET /bench/plain, a trivial Django view (bench/urls.py; not a product route),
  - money: each client alternates POST web3.leases.issue (an escrow lock of the lease's maxCost)
    and POST web3.leases.revoke of that lease (the refund of all of it), with its own consumer,
at the same client count, and prints both rates and money / baseline (the goal is >= 0.1 at 8
clients on PostgreSQL with 4 workers). Only loopback traffic; no provider is called.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import sweep  # noqa: E402  (the scratch database helpers)
from bench.gateway import api_call, bench_server, credit, measure, publish_search, sign_in  # noqa: E402

GOAL = 0.1
sweep.SCRATCH = "openclaw_bench_http_money"


def _scratch(url: str, create: bool) -> str:
    """Drop (and create) the scratch database on the server of `url` (bench/sweep.py's helpers); its URL."""
    sweep.admin_sql(url, f"DROP DATABASE IF EXISTS {sweep.SCRATCH} WITH (FORCE)")
    if create:
        sweep.admin_sql(url, f"CREATE DATABASE {sweep.SCRATCH}")
    return sweep.scratch_url(url)


def money_rate(base: str, tokens: list[str], resource: str, seconds: float) -> tuple[float, int, int]:
    """(requests/s, requests, refused) of issue/revoke pairs, one client thread per consumer token."""
    lock, gate = threading.Lock(), threading.Barrier(len(tokens) + 1)
    totals = {"done": 0, "bad": 0}
    stop_at = [0.0]
    issue = {"resourceId": resource, "maxCost": "0.05", "ttlSec": 600}

    def client(token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        done = bad = 0
        with httpx.Client(base_url=base + "/api/v1/", headers=headers, timeout=30) as http:
            for _ in range(5):  # warm-up: connections, caches, the first lease of an account
                lease = http.post("web3.leases.issue", json=issue).json()["result"]["leaseId"]
                http.post("web3.leases.revoke", json={"leaseId": lease})
            gate.wait()
            while time.monotonic() < stop_at[0]:
                r = http.post("web3.leases.issue", json=issue).json()
                done += 1
                if not r.get("ok"):
                    bad += 1
                    continue
                done += 1
                bad += not http.post("web3.leases.revoke", json={"leaseId": r["result"]["leaseId"]}).json().get("ok")
        with lock:
            totals["done"] += done
            totals["bad"] += bad

    threads = [threading.Thread(target=client, args=(t,), daemon=True) for t in tokens]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + 3600
    gate.wait()
    started = time.monotonic()
    stop_at[0] = started + seconds
    for t in threads:
        t.join(seconds + 60)
    elapsed = time.monotonic() - started
    return totals["done"] / elapsed, totals["done"], totals["bad"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per phase (max 60)")
    parser.add_argument("--clients", type=int, default=8, help="client threads (max 32)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    args = parser.parse_args()
    seconds = min(max(args.seconds, 0.5), 60.0)
    clients = min(max(args.clients, 1), 32)
    server_url = os.environ.get("DATABASE_URL", "")
    store = {"DATABASE_URL": _scratch(server_url, create=True)} if server_url.startswith("postgres") else {}
    try:
        with bench_server("openclaw-bench-money-", args.workers, args.threads, store=store) as (base, port, env):
            provider, consumers = sign_in(base), [sign_in(base) for _ in range(clients)]
            with httpx.Client(base_url=base + "/api/v1/", timeout=30) as http:
                for token in consumers:
                    credit(env, api_call(http, "web3.identity.whoami", token, {})["actorId"], "1000")
                resource = publish_search(http, provider)
            kind = "PostgreSQL (a scratch database)" if store else "SQLite"
            print(
                f"gunicorn: {args.workers} workers x {args.threads} threads on 127.0.0.1:{port}; "
                f"{clients} clients; {seconds:g} s per phase; {kind}, local-memory cache"
            )
            trivial, done, bad = measure(
                base,
                "GET",
                "/bench/plain",
                headers=None,
                body=None,
                clients=clients,
                seconds=seconds,
                max_requests=10**7,
            )
            print(f"  trivial view      {trivial:8.1f} req/s  ({done} requests, {bad} not 200)")
            money, done, bad = money_rate(base, consumers, resource, seconds)
            print(f"  issue/revoke      {money:8.1f} req/s  ({done} requests, {bad} refused)")
            print(f"  money / trivial = {money / trivial:.3f}  (goal >= {GOAL} at 8 clients, PostgreSQL, 4 workers)")
    finally:
        if store:
            _scratch(server_url, create=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
