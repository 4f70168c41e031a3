"""Mixed load through a small deployment: gunicorn (4 workers) + a Celery worker + beat on PostgreSQL
and Redis, with N simulated agents running the market's flows for a fixed time against a loopback
provider, compared with a trivial view served by the same gunicorn in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres CELERY_BROKER_URL=redis://127.0.0.1:6379/<a> \\
    REDIS_URL=redis://127.0.0.1:6379/<b> .venv/bin/python bench/load.py [--agents 32] [--seconds 60] [--invokes 3]

Creates a scratch database (--scratch, dropped first and at the end) and migrates it; starts the
processes with the production settings plus the trivial view (bench.settings); signs in 4 providers
(each publishes a search resource on tests/provider_server.py) and N agents through SIWE, each
credited 1000 USDC. Each agent repeats, in turn until the time is up:
  lease:   web3.index.list -> web3.leases.issue -> web3.resources.invoke x k -> web3.leases.revoke
  task:    publishTask -> placeBid (another agent) -> awardBid -> submitResult -> reviewResult accept
  session: web3.sessions.open -> web3.resources.invoke (sessionId, resourceId) x k -> settleSession
Prints flows/s and requests/s, p50/p95/p99 per method, error counts by code, the trivial view's
requests/s at the same concurrency, and the invariants afterwards (verify_audit's problems; the
sum of all balances per currency is zero).
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import sweep  # noqa: E402
from bench.gateway import GUNICORN, PYTHON, free_port, sign_in, wait_ready  # noqa: E402

CELERY = str(Path(PYTHON).with_name("celery"))
SHA = "ab" * 32
FUNDS = 1000


class Agent:
    def __init__(self, base: str, token: str) -> None:
        self.http = httpx.Client(base_url=base + "/api/v1/", timeout=60, headers={"Authorization": f"Bearer {token}"})
        self.actor_id = self.http.post("web3.identity.whoami", json={}).json()["result"]["actorId"]


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter = Counter()
        self.flows: Counter = Counter()

    def call(self, agent: Agent, method: str, params: dict) -> dict | None:
        started = time.perf_counter()
        try:
            body = agent.http.post(method, json=params).json()
            code = None if body.get("ok") else body["error"]["code"]
        except (httpx.HTTPError, ValueError) as e:
            body, code = {}, type(e).__name__
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latency[method].append(elapsed)
            if code:
                self.errors[method, code] += 1
        return body.get("result") if code is None else None


def lease_flow(stats: Stats, me: Agent, invokes: int) -> bool:
    found = stats.call(me, "web3.index.list", {"kind": "search", "limit": 10})
    if not found or not found["items"]:
        return False
    resource = found["items"][hash(me.actor_id + str(time.time())) % len(found["items"])]["resourceId"]
    lease = stats.call(me, "web3.leases.issue", {"resourceId": resource, "maxCost": "1", "ttlSec": 600})
    if not lease:
        return False
    for n in range(invokes):
        stats.call(me, "web3.resources.invoke", {"leaseId": lease["leaseId"], "input": {"q": f"query {n}"}})
    return stats.call(me, "web3.leases.revoke", {"leaseId": lease["leaseId"]}) is not None


def task_flow(stats: Stats, me: Agent, bidder: Agent) -> bool:
    task = stats.call(
        me,
        "web3.market.publishTask",
        {"title": "Summarise", "requirements": "200 words", "budget": "2", "currency": "USDC", "ttlSec": 7200},
    )
    if not task:
        return False
    bid = stats.call(bidder, "web3.market.placeBid", {"taskId": task["taskId"], "price": "1", "etaSec": 3600})
    if not bid or not stats.call(me, "web3.market.awardBid", {"taskId": task["taskId"], "bidId": bid["bidId"]}):
        return False
    result = stats.call(
        bidder,
        "web3.market.submitResult",
        {"taskId": task["taskId"], "summary": "done", "artifacts": [{"name": "out.txt", "sha256": SHA}]},
    )
    if not result:
        return False
    review = {"resultId": result["resultId"], "decision": "accept", "reason": ""}
    return stats.call(me, "web3.market.reviewResult", review) is not None


def session_flow(stats: Stats, me: Agent, resources: list[str], invokes: int) -> bool:
    session = stats.call(me, "web3.sessions.open", {"budget": "1", "currency": "USDC", "ttlSec": 600})
    if not session:
        return False
    for n in range(invokes):
        params = {"sessionId": session["sessionId"], "resourceId": resources[n % len(resources)], "input": {"q": "x"}}
        stats.call(me, "web3.resources.invoke", params)
    return stats.call(me, "web3.billing.settleSession", {"sessionId": session["sessionId"]}) is not None


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * len(values)) - 1))] * 1000


def trivial_rate(base: str, clients: int, seconds: float) -> float:
    done = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        n = 0
        with httpx.Client(base_url=base, timeout=30) as http:
            while time.monotonic() < stop:
                http.get("/bench/plain")
                n += 1
        with lock:
            done[0] += n

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0] / seconds


def start(role: str, cmd: list[str], env: dict, tmp: Path, procs: list) -> None:
    with (tmp / f"{role}.log").open("wb") as log:
        procs.append(
            subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--invokes", type=int, default=3, help="calls per lease and per session (k)")
    parser.add_argument("--scratch", default="bench_load", help="name of the scratch database")
    args = parser.parse_args()
    url, broker, redis_url = (os.environ.get(k, "") for k in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"))
    if not url.startswith(("postgres://", "postgresql://")) or not broker.startswith("redis://") or not redis_url:
        print("set DATABASE_URL (a PostgreSQL server), CELERY_BROKER_URL and REDIS_URL (Redis databases of your own)")
        return 2
    sweep.SCRATCH = args.scratch
    sweep.admin_sql(url, f"DROP DATABASE IF EXISTS {sweep.SCRATCH}")
    sweep.admin_sql(url, f"CREATE DATABASE {sweep.SCRATCH}")
    tmp = Path(tempfile.mkdtemp(prefix="openclaw-bench-load-"))
    procs: list[subprocess.Popen] = []
    try:
        os.environ["WEB3_CHECKPOINT_KEY"] = "0x" + os.urandom(32).hex()
        os.environ["WEB3_SECRETS_KEY"] = base64.urlsafe_b64encode(os.urandom(32)).decode()
        os.environ["WEB3_ALLOW_PRIVATE_ENDPOINTS"] = "true"
        sweep.setup_django(url)  # migrates the scratch database; this process checks the invariants
        os.environ["REDIS_URL"] = redis_url
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR",)}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "bench.settings",
                "WEB3_VAR_DIR": str(tmp / "var"),
                "WEB3_BIND": f"127.0.0.1:{port}",
                "WEB_CONCURRENCY": "4",
                "WEB3_DEFAULT_RATE_LIMIT": "100000000/m",
                "WEB3_SWEEP_INTERVAL_SEC": "5",
                "CELERY_BROKER_URL": broker,
                "REDIS_URL": redis_url,
                "LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(ROOT),
            }
        )
        start("web", [GUNICORN, "-c", "openclaw/gunicorn.conf.py", "openclaw.wsgi:application"], env, tmp, procs)
        start("worker", [CELERY, "-A", "openclaw", "worker", "-l", "WARNING", "--concurrency", "1"], env, tmp, procs)
        start(
            "beat", [CELERY, "-A", "openclaw", "beat", "-l", "WARNING", "-s", str(tmp / "beat-sched")], env, tmp, procs
        )
        wait_ready(base, procs[0], timeout=120)
        return run(args, base)
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        from django.db import connections

        connections.close_all()
        sweep.admin_sql(url, f"DROP DATABASE IF EXISTS {sweep.SCRATCH} WITH (FORCE)")
        shutil.rmtree(tmp, ignore_errors=True)


def run(args, base: str) -> int:
    from market.services.ledger import deposit
    from tests.provider_server import ProviderServer

    with ProviderServer() as provider_server:
        providers = [Agent(base, sign_in(base)) for _ in range(4)]
        agents = [Agent(base, sign_in(base)) for _ in range(args.agents)]
        for a in providers + agents:
            deposit(actor_id=a.actor_id, amount=FUNDS * 10**6, currency="USDC", reason="load bench")
        resources = []
        for p in providers:
            published = p.http.post(
                "web3.resources.publish",
                json={
                    "kind": "search",
                    "name": "searxng resource",
                    "backend": "searxng",
                    "endpoint": provider_server.base,
                    "pricing": {"unit": "query", "unitPrice": "0.010000", "currency": "USDC"},
                },
            ).json()
            resources.append(published["result"]["resourceId"])
        stats = Stats()
        stop = time.monotonic() + args.seconds

        def agent_loop(i: int) -> None:
            me, turn = agents[i], i
            while time.monotonic() < stop:
                kind = ("lease", "task", "session")[turn % 3]
                turn += 1
                if kind == "lease":
                    ok = lease_flow(stats, me, args.invokes)
                elif kind == "task":
                    # another agent bids (a provider when there is no other: no one bids on their own task)
                    ok = task_flow(stats, me, agents[(i + 1) % len(agents)] if len(agents) > 1 else providers[0])
                else:
                    ok = session_flow(stats, me, resources, args.invokes)
                with stats.lock:
                    stats.flows[kind, ok] += 1

        started = time.monotonic()
        threads = [threading.Thread(target=agent_loop, args=(i,)) for i in range(len(agents))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        plain = trivial_rate(base, len(agents), min(args.seconds, 10.0))
    report(stats, elapsed, plain, len(agents))
    return 0


def report(stats: Stats, elapsed: float, plain: float, agents: int) -> None:
    from django.db.models import F, Sum

    from market.audit.verify import problems
    from market.models import Account

    total = sum(len(v) for v in stats.latency.values())
    print(f"{agents} agents for {elapsed:.1f} s (this machine is shared: absolute figures vary; ratios are of one run)")
    for (kind, ok), n in sorted(stats.flows.items()):
        print(f"  flows {kind:8} {'completed' if ok else 'failed':9} {n:6}  ({n / elapsed:.2f}/s)")
    print(f"requests: {total} ({total / elapsed:.1f}/s); trivial view at {agents} clients: {plain:.1f}/s")
    print(f"  ratio requests/s to the trivial view's: {total / elapsed / plain:.3f}")
    print(f"{'method':32} {'calls':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for method, values in sorted(stats.latency.items()):
        p50, p95, p99 = (percentile(values, q) for q in (0.5, 0.95, 0.99))
        print(f"{method:32} {len(values):7} {p50:8.1f} {p95:8.1f} {p99:8.1f}")
    print("errors by method and code:", dict(stats.errors) or "none")
    sums = (
        Account.objects.values("currency")
        .annotate(
            total=Sum(F("credits_posted") - F("debits_posted")),
            pending=Sum(F("credits_pending") - F("debits_pending")),
        )
        .order_by("currency")
    )
    for row in sums:
        print(
            f"invariant: {row['currency']} balances sum to {row['total']} posted, {row['pending']} pending (want 0, 0)"
        )
    found = list(problems())
    print(f"invariant: verify_audit {'clean' if not found else 'found ' + '; '.join(found[:5])}")


if __name__ == "__main__":
    sys.exit(main())
