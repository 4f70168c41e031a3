"""The index at a million: web3.index.list and web3.resources.list with each of their filters, on
PostgreSQL, against a trivial view, in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/index.py \\
        [--resources 1000000] [--invocations 10000000] [--requests 40] [--scratch bench_index] [--keep | --reuse]

Creates the scratch database (dropped first and at the end), migrates it, builds the market with
set-based SQL (bench/index_data.py: generate_series, then ANALYZE; then VACUUM ANALYZE of the tables
the lists read, as autovacuum would), then calls each method through the gateway in-process (Django's
test client, a signed-in caller) --requests times per filter after a warm-up: the first page, and a
page deep into the list through its keyset cursor. Prints p50/p95 in ms per filter and each p95's
ratio to the trivial view's. Goal: p95 <= 50 ms for every filter.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import sweep  # noqa: E402  (the scratch database helpers)

sweep.SCRATCH = "bench_index"
GOAL_MS = 50.0


def cases(resources: int) -> list[tuple[str, str, dict]]:
    from bench.index_data import provider_of

    provider = provider_of(7, resources)
    common = [
        ("no filter", {}),
        ("kind=search", {"kind": "search"}),
        ("maxUnitPrice=0.01 (1%)", {"currency": "USDC", "maxUnitPrice": "0.01"}),
        ("maxUnitPrice=0.5 (50%)", {"currency": "USDC", "maxUnitPrice": "0.5"}),
        ("tag=t7 (2%)", {"tag": "t7"}),
        ("tag=r77 (0.02%)", {"tag": "r77"}),
        ("providerActorId", {"providerActorId": provider}),
        ("kind+maxUnitPrice+tag", {"kind": "model", "currency": "USDC", "maxUnitPrice": "0.5", "tag": "t9"}),
    ]
    health = [
        ("health=healthy", {"health": "healthy"}),
        ("health=degraded (2%)", {"health": "degraded"}),
        ("health=stale", {"health": "stale"}),
        ("health=healthy+kind", {"health": "healthy", "kind": "model"}),
    ]
    out = [("web3.resources.list", name, params) for name, params in common]
    out += [("web3.index.list", name, params) for name, params in common + health]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=1_000_000)
    parser.add_argument("--invocations", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument(
        "--scratch", default=sweep.SCRATCH, help="name of the scratch database (dropped first and at the end)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the market a --keep run left in the scratch database (same --resources and --invocations;"
        " its standings are first moved on by whole health buckets, as the built reports and calls age with the"
        " clock)",
    )
    args = parser.parse_args()
    sweep.SCRATCH = args.scratch
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("set DATABASE_URL to a PostgreSQL server (the bench creates its own scratch database there)")
        return 2
    # the bench reads each list hundreds of times a minute: the per-method limit is lifted (it still counts)
    os.environ["WEB3_DEFAULT_RATE_LIMIT"] = "100000000/m"
    if not args.reuse:
        sweep.admin_sql(url, f"DROP DATABASE IF EXISTS {sweep.SCRATCH}")
        sweep.admin_sql(url, f"CREATE DATABASE {sweep.SCRATCH}")
    try:
        sweep.setup_django(url)
        from django.conf import settings

        settings.ROOT_URLCONF = "bench.urls"  # the product's URLs and the trivial view
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        return run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not (args.keep or args.reuse):
            sweep.admin_sql(url, f"DROP DATABASE IF EXISTS {sweep.SCRATCH}")


def run(args) -> int:
    from django.test import Client
    from django.utils import timezone

    from bench.index_data import build, reage, vacuum
    from web3api.identity.services import TOKEN_PREFIX, hash_token
    from web3api.models import ActorToken

    started = time.perf_counter()
    if args.reuse:
        shift = reage()
        print(f"  measuring the market built earlier in {sweep.SCRATCH} (its standings moved on by {shift})")
    else:
        build(
            args.resources,
            args.invocations,
            progress=lambda text: print(f"  built {text} ({time.perf_counter() - started:.0f} s)", flush=True),
        )
    vacuum()
    token = TOKEN_PREFIX + os.urandom(24).hex()
    ActorToken.objects.create(
        token_hash=hash_token(token), actor_id="0x" + "ab" * 20, expires_at=timezone.now() + timedelta(days=1)
    )
    client = Client()
    headers = {"Authorization": f"Bearer {token}"}

    def call(method: str, params: dict) -> dict:
        r = client.post(f"/api/v1/{method}", data=json.dumps(params), content_type="application/json", headers=headers)
        body = json.loads(r.content)
        if not body.get("ok"):
            raise RuntimeError(f"{method} {params}: {body}")
        return body["result"]

    def timed(fn, n: int) -> tuple[float, float]:
        fn()  # warm-up
        runs = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            runs.append((time.perf_counter() - t) * 1000)
        runs.sort()
        return statistics.median(runs), runs[max(0, round(0.95 * len(runs)) - 1)]

    trivial = timed(lambda: client.get("/bench/plain"), args.requests)
    print(f"{args.resources} resources, {args.invocations} invocations; {args.requests} requests per row")
    print(f"{'method':22} {'filter':26} {'page':5} {'p50 ms':>8} {'p95 ms':>8} {'p95/trivial':>12}")
    print(f"{'(trivial view)':22} {'':26} {'':5} {trivial[0]:8.2f} {trivial[1]:8.2f} {1:12.1f}")
    worst = 0.0
    for method, name, params in cases(args.resources):
        # a page deep in the list: follow the keyset cursor 20 pages in (or to the last page)
        cursor, deep = None, dict(params)
        for _ in range(20):
            page = call(method, {**params, **({"cursor": cursor} if cursor else {})})
            if not page["nextCursor"]:
                break
            cursor = page["nextCursor"]
        if cursor:
            deep["cursor"] = cursor
        for label, p in (("1", params), ("deep", deep)):
            p50, p95 = timed(lambda m=method, p=p: call(m, p), args.requests)
            worst = max(worst, p95)
            print(f"{method:22} {name:26} {label:5} {p50:8.2f} {p95:8.2f} {p95 / trivial[1]:12.1f}", flush=True)
    print(f"worst p95 {worst:.1f} ms (goal <= {GOAL_MS:.0f} ms): {'met' if worst <= GOAL_MS else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
