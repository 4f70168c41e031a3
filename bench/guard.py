"""The billing guard's speed beside whoami's, through gunicorn, in the same run.

    .venv/bin/python bench/guard.py [--seconds 5] [--clients 4] [--workers 2] [--threads 4]

Starts the market as bench/gateway.py does (a temporary var/, SQLite), signs an owner in through
SIWE, credits it (manage.py credit), publishes a resource with another wallet, issues an agent token
and opens a prepaid session with it; then measures requests/s, with the agent token, of
  - POST web3.identity.whoami,
  - POST web3.billing.guard {sessionId, tool},
  - POST web3.billing.guard {sessionId, tool, resourceId},
and prints the rates and each guard's ratio to whoami (the goal is >= 0.8). Only loopback traffic.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.gateway import api_call, bench_server, credit, measure, publish_search, sign_in  # noqa: E402


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

    with bench_server("openclaw-bench-guard-", args.workers, args.threads) as (base, port, env):
        owner, provider = sign_in(base), sign_in(base)
        with httpx.Client(base_url=base + "/api/v1/", timeout=10) as http:
            credit(env, api_call(http, "web3.identity.whoami", owner, {})["actorId"], "100")
            resource = publish_search(http, provider)
            agent = api_call(
                http,
                "web3.identity.issueAgentToken",
                owner,
                {
                    "label": "bench",
                    "scopes": ["web3.identity.whoami", "web3.billing.*", "web3.sessions.*"],
                    "policy": {"sessionCap": "50", "dailyCap": "100", "counterpartyDailyCap": "20"},
                    "ttlSec": 3600,
                },
            )["token"]
            session = api_call(http, "web3.sessions.open", agent, {"budget": "10", "currency": "USDC", "ttlSec": 3600})
        auth = {"Authorization": f"Bearer {agent}", "Content-Type": "application/json"}
        guard = {"sessionId": session["sessionId"], "tool": "web_search"}
        print(
            f"gunicorn: {args.workers} workers x {args.threads} threads on 127.0.0.1:{port}; "
            f"{clients} client threads; {seconds:g} s per endpoint (SQLite, local-memory cache), agent token"
        )
        phases = [
            ("whoami", "web3.identity.whoami", b"{}"),
            ("guard", "web3.billing.guard", json.dumps(guard).encode()),
            ("guard+resource", "web3.billing.guard", json.dumps({**guard, "resourceId": resource}).encode()),
        ]
        rates = {}
        for label, method, body in phases:
            rate, done, bad = measure(
                base,
                "POST",
                f"/api/v1/{method}",
                headers=auth,
                body=body,
                clients=clients,
                seconds=seconds,
                max_requests=args.max_requests,
            )
            rates[label] = rate
            note = f"  ({bad} non-200!)" if bad else ""
            print(f"  {label:<16} {rate:8.1f} req/s  ({done} requests){note}")
        for label in ("guard", "guard+resource"):
            print(f"  {label} / whoami = {rates[label] / rates['whoami']:.2f}  (goal >= 0.8)")
        return 0


if __name__ == "__main__":
    sys.exit(main())
