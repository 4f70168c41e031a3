"""The cost of one monitor.evaluate run (every default rule, the invariant and stuck-state monitors)
as the ledger grows, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/monitor.py [--sizes 10000 100000]

Creates a scratch database `bench_monitor` (dropped first and at the end), migrates it, and grows it
to each size N of open leases (each with its settlement and lock transfer; bench/sweep.py's loader).
At each size it times, in the same run:
  - evaluate: market.services.monitor.monitor_evaluate, the job beat runs every minute;
  - floor:    one plain pass over the rows the monitors must read (count(*) of settlements joined to
              their transfers, of accounts, bids, leases, receipts and audit events), the least any
              whole-table check could cost;
and prints both, the ratio evaluate/floor, and evaluate(largest)/evaluate(smallest) beside the
growth of the data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import sweep  # noqa: E402  (the scratch database helpers and the lease loader)

sweep.SCRATCH = "bench_monitor"
FLOOR_SQL = [
    "SELECT count(*) FROM market_settlement s LEFT JOIN market_transfer t ON t.settlement_id = s.id",
    "SELECT count(*) FROM market_account",
    "SELECT count(*) FROM market_taskbid",
    "SELECT count(*) FROM market_lease",
    "SELECT count(*) FROM market_taskreceipt",
    "SELECT count(*) FROM market_auditevent",
]


def timed(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (the median is shown)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("set DATABASE_URL to a PostgreSQL server (the bench creates its own scratch database there)")
        return 2
    sweep.admin_sql(url, f"DROP DATABASE IF EXISTS {sweep.SCRATCH}")
    sweep.admin_sql(url, f"CREATE DATABASE {sweep.SCRATCH}")
    try:
        sweep.setup_django(url)
        from django.db import connection
        from django.utils import timezone

        from market.models import Alert
        from market.services.monitor import default_rules_install, monitor_evaluate

        default_rules_install()

        def floor() -> None:
            with connection.cursor() as cur:
                for statement in FLOOR_SQL:
                    cur.execute(statement)
                    cur.fetchall()

        results = {}
        loaded = 0
        for n in sorted(args.sizes):
            sweep.load("A", n - loaded, timezone.now() + timedelta(days=1))  # open leases, not yet due
            loaded = n
            monitor_evaluate()  # warm: plans cached, the readings table written once
            evaluate_sec = timed(monitor_evaluate, args.repeat)
            floor_sec = timed(floor, args.repeat)
            results[n] = evaluate_sec
            print(
                f"N={n:>7} open settlements: evaluate {evaluate_sec * 1000:8.1f} ms   "
                f"floor {floor_sec * 1000:8.1f} ms   evaluate/floor {evaluate_sec / floor_sec:5.2f}",
                flush=True,
            )
        firing = list(Alert.objects.filter(status__in=Alert.UNRESOLVED).values_list("rule__name", "key"))
        print("alerts firing on the loaded market (expected none):", firing or "none")
        sizes = sorted(results)
        if len(sizes) >= 2:
            print(
                f"evaluate {sizes[-1]} / evaluate {sizes[0]}: {results[sizes[-1]] / results[sizes[0]]:.2f}x "
                f"(for {sizes[-1] / sizes[0]:.0f}x the settlements)"
            )
        return 0 if not firing else 1
    finally:
        from django.db import connections

        connections.close_all()
        sweep.admin_sql(url, f"DROP DATABASE IF EXISTS {sweep.SCRATCH}")


if __name__ == "__main__":
    sys.exit(main())
