"""bench/ledger.py's scaling part: the services in worker processes against pgbench's TPC-B, at the
same client counts, in one run.

Each client is a process of its own (as gunicorn runs its workers), forked after Django is set up,
with its own database connection; it alternates escrow_lock and escrow_release of that settlement
between random pairs of the funded actors for the phase's seconds. pgbench runs on a scratch
database of its own (`pgbench -i -s <scale>`, then `pgbench -c N -j N -T <seconds>`).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import re
import shutil
import subprocess
import time
from urllib.parse import urlsplit

import psycopg

PGBENCH_DB = os.environ.get("BENCH_DB_PREFIX", "openclaw_bench") + "_pgbench"
GOAL_VS_PGBENCH = 0.4  # services at 8 clients / pgbench at 8 clients
GOAL_SCALING = 2.5  # services at 8 clients / services at 1 client


def _env(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    env = {
        **os.environ,
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGUSER": parts.username or "postgres",
        "PGDATABASE": PGBENCH_DB,
    }
    if parts.password:
        env["PGPASSWORD"] = parts.password
    return env


def pgbench_prepare(admin: str, scale: int) -> str | None:
    """Create and initialise the pgbench scratch database; None when ready, else why not."""
    exe = shutil.which("pgbench")
    if exe is None:
        return "pgbench is not installed"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PGBENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PGBENCH_DB}"')
    init = subprocess.run(
        [exe, "-i", "-q", "-s", str(scale)], env=_env(admin), capture_output=True, text=True, timeout=600
    )
    if init.returncode != 0:
        return f"pgbench -i failed ({init.stderr.strip().splitlines()[-1:]})"
    return None


def pgbench_drop(admin: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PGBENCH_DB}" WITH (FORCE)')


def pgbench_run(admin: str, clients: int, seconds: float) -> float | None:
    run = subprocess.run(
        [shutil.which("pgbench") or "pgbench", "-c", str(clients), "-j", str(clients), "-T", str(int(seconds))],
        env=_env(admin),
        capture_output=True,
        text=True,
        timeout=seconds + 300,
    )
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", run.stdout)
    return float(match.group(1)) if run.returncode == 0 and match else None


def cpu_busy() -> tuple[float, float]:
    """(busy, total) seconds of all this machine's cores so far (/proc/stat; zeros elsewhere)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = fields[3] + fields[4]  # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - idle) / tick, sum(fields) / tick


class Busy:
    """How many cores the machine kept busy during a block (what the phase had to work with)."""

    def __enter__(self) -> Busy:
        self.start, self.wall = cpu_busy()[0], time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.cores = (cpu_busy()[0] - self.start) / max(time.perf_counter() - self.wall, 1e-9)


def _worker(i: int, actors: list[str], start, seconds: float, results) -> None:
    from django.db import connections

    from market.services import escrow

    connections.close_all()  # the parent's connection stays the parent's: open one of our own
    rnd = random.Random(5000 + i)
    done, open_settlement = 0, None
    try:
        start.wait(120)
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            if open_settlement:
                escrow.escrow_release(settlement_id=open_settlement, by_actor_id="system")
                open_settlement = None
            else:
                payer, payee = rnd.sample(actors, 2)
                open_settlement = escrow.escrow_lock(
                    payer_actor_id=payer,
                    payee_actor_id=payee,
                    amount=1,
                    currency="USDC",
                    by_actor_id=payer,
                    reference="bench",
                ).settlement_id
            done += 1
        results.put((i, done, None))
    except BaseException as exc:  # noqa: BLE001 - reported by the parent
        results.put((i, done, repr(exc)))
    finally:
        connections.close_all()


def services_run(actors: list[str], clients: int, seconds: float) -> float:
    """Locks and releases per second, over `clients` forked worker processes."""
    from django.db import connections

    connections.close_all()
    ctx = mp.get_context("fork")
    start, results = ctx.Barrier(clients + 1), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(i, actors, start, seconds, results)) for i in range(clients)]
    for p in procs:
        p.start()
    start.wait(120)
    began = time.perf_counter()
    got = [results.get(timeout=seconds + 300) for _ in procs]
    elapsed = max(time.perf_counter() - began, seconds)
    for p in procs:
        p.join(60)
    errors = [e for _, _, e in got if e]
    if errors:
        raise SystemExit(f"a worker failed: {errors[0]}")
    return sum(n for _, n, _ in got) / elapsed


def scale_report(admin: str, actors: list[str], clients: list[int], seconds: float, scale: int) -> None:
    """Print services/s against pgbench tps at each client count, with the goals."""
    why = pgbench_prepare(admin, scale)
    try:
        rows = []
        for c in clients:
            with Busy() as pg_busy:
                tps = None if why else pgbench_run(admin, c, seconds)
            with Busy() as busy:
                rate = services_run(actors, c, seconds)
            rows.append((c, tps, rate, busy.cores))
            shown = f"{tps:8.0f}" if tps else "       -"
            print(
                f"C={c}: pgbench {shown} tps ({pg_busy.cores:.2f} cores busy), services {rate:6.0f} locks and "
                f"releases/s (processes; {busy.cores:.2f} cores busy)",
                flush=True,
            )
    finally:
        if why is None:
            pgbench_drop(admin)
    print()
    print(f"services in worker processes against pgbench TPC-B (scale {scale}), same run")
    print(f"{'clients':>8} {'pgbench tps':>12} {'services/s':>11} {'ratio':>7} {'vs 1 client':>12} {'cores busy':>11}")
    one = next(((rate, cores) for c, _, rate, cores in rows if c == 1), None)
    for c, tps, rate, cores in rows:
        ratio = f"{rate / tps:7.2f}" if tps else "      -"
        growth = f"{rate / one[0]:12.2f}" if one else "           -"
        print(f"{c:>8} {tps or 0:>12.0f} {rate:>11.0f} {ratio} {growth} {cores:>11.2f}")
    if one and one[1] > 0:
        # One client keeps its process and its backend busy in turn: with N cores, no number of
        # clients can do more than N / (cores busy at one client) times its rate.
        cores = os.cpu_count() or 1
        print(
            f"one client kept {one[1]:.2f} of {cores} cores busy: the most any client count can reach on this "
            f"machine is about {cores / one[1]:.2f} x services(1)"
        )
    at8 = next(((tps, rate) for c, tps, rate, _ in rows if c == 8), None)
    if why:
        print(f"pgbench: skipped ({why})")
    if at8 and at8[0]:
        ok = at8[1] / at8[0] >= GOAL_VS_PGBENCH
        print(f"goal services(8) >= {GOAL_VS_PGBENCH} x pgbench(8): {'ok' if ok else 'not met'}")
    if at8 and one:
        ok = at8[1] / one[0] >= GOAL_SCALING
        print(f"goal services(8) >= {GOAL_SCALING} x services(1): {'ok' if ok else 'not met'}")
