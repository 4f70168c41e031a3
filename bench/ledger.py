"""Ledger throughput on PostgreSQL: the services against the same work in raw psycopg.

    .venv/bin/python bench/ledger.py [--seconds 10] [--clients 1,8] [--admin-url postgres://...] [--scratch NAME]
        [--scale-clients 1,8,32] [--scale-only] [--code DIR]

In one run, in a scratch database (`openclaw_bench_ledger`, created here, migrated, dropped at the
end), with 16 funded actors and each operation between a random pair of them:

  (a) raw psycopg, one transaction per operation: lock the two accounts (FOR UPDATE, by id), update
      their totals, insert the transfer, insert the audit leaf (RFC 8785 payload, its sha256 and the
      leaf's content hash; no position: the sequencer gives it one after the commit) — the minimum
      the ledger must do;
  (b) the services: market.services.escrow.escrow_lock, then escrow_release of that settlement; each
      lock or release is one operation (each also writes its settlement row and audit parties);

at C = 1 and 8 client threads, each phase bounded by --seconds (raw and services alternate in
--rounds slices, so that load from elsewhere on the machine falls on both alike).
Prints both rates and the ratio services / raw (goal >= 0.6), and pgbench's TPC-B figure
(`pgbench -i`, `pgbench -c 8 -T <seconds>`) on the same scratch database as context, when pgbench
is installed.

Then (bench/ledger_scale.py) the services in worker processes, one database connection each,
against pgbench's TPC-B tps at --scale-clients (default 1, 8, 32), each for --seconds, with the
goals services(8) >= 0.4 x pgbench(8) and services(8) >= 2.5 x services(1). --scale-only runs just
that part; --code DIR takes the market's code (and migrations) from another checkout, so the same
command measures another branch (its raw phase needs this branch's schema, hence --scale-only).

The admin URL (a database to connect to for CREATE/DROP DATABASE) comes from --admin-url, else
DATABASE_URL when it is PostgreSQL, else postgres://postgres@127.0.0.1:5432/postgres.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import rfc8785

ROOT = Path(__file__).resolve().parent.parent
# Scratch database names: BENCH_DB_PREFIX (default openclaw_bench) + _ledger and _pgbench.
SCRATCH = os.environ.get("BENCH_DB_PREFIX", "openclaw_bench") + "_ledger"
ACTORS = ["0x" + f"{0x20 + i:02x}" * 20 for i in range(16)]
FUNDING = 10**15
GOAL = 0.6


def admin_url(explicit: str | None) -> str:
    if explicit:
        return explicit
    env = os.environ.get("DATABASE_URL", "")
    if env.startswith(("postgres://", "postgresql://")):
        return env
    return "postgres://postgres@127.0.0.1:5432/postgres"


def with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def recreate(admin: str, *, drop_only: bool = False) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{SCRATCH}"')


def setup_django(url: str, var_dir: str, code: Path = ROOT) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["WEB3_VAR_DIR"] = var_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "openclaw.settings"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ.setdefault("WEB3_SECRETS_KEY", "n8OQmG7mFZ7u5P4gq1oQe0qz3s1m0cK1yXlS7c9l0mA=")
    os.environ.setdefault("WEB3_CHECKPOINT_KEY", "0x" + "4c" * 32)
    os.environ["WEB3_CURRENCIES"] = "USDC:6"
    os.environ["LOG_LEVEL"] = "WARNING"
    sys.path.insert(0, str(code))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def run_phase(clients: int, seconds: float, op_factory) -> tuple[int, float]:
    """Run `clients` threads, each calling its op until the deadline; returns (operations, seconds)."""
    counts = [0] * clients
    errors: list[BaseException] = []
    barrier = threading.Barrier(clients + 1)
    stop = threading.Event()

    def body(i: int) -> None:
        op, close = op_factory(i)
        try:
            barrier.wait()
            while not stop.is_set():
                counts[i] += op()
        except BaseException as exc:  # noqa: BLE001 - reported after the phase
            errors.append(exc)
            stop.set()
        finally:
            close()

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"a client failed: {errors[0]!r}")
    return sum(counts), elapsed


# --- (a) raw psycopg ---------------------------------------------------------------------------------


def raw_op_factory(url: str, account_ids: list[int]):
    def factory(i: int):
        conn = psycopg.connect(url)
        rnd = random.Random(1000 + i)

        def op() -> int:
            debit, credit = rnd.sample(account_ids, 2)
            transfer_id = f"trb_{os.urandom(12).hex()}"
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(
                    "SELECT id, credits_posted - debits_posted - debits_pending FROM market_account "
                    "WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                    [[debit, credit]],
                )
                available = dict(cur.fetchall())[debit]
                if available < 1:
                    raise RuntimeError("raw: overdraft")
                cur.execute("UPDATE market_account SET debits_pending = debits_pending + 1 WHERE id = %s", [debit])
                cur.execute("UPDATE market_account SET credits_pending = credits_pending + 1 WHERE id = %s", [credit])
                now = datetime.now(UTC)
                cur.execute(
                    "INSERT INTO market_transfer (transfer_id, debit_account_id, credit_account_id, amount, currency, "
                    "kind, code, reference, created_at) VALUES (%s, %s, %s, 1, 'USDC', 'pending', 'escrow_lock', "
                    "'bench', %s)",
                    [transfer_id, debit, credit, now],
                )
                payload = rfc8785.dumps(
                    {
                        "transferId": transfer_id,
                        "debit": debit,
                        "credit": credit,
                        "amount": "0.000001",
                        "currency": "USDC",
                    }
                ).decode()
                payload_sha = hashlib.sha256(payload.encode()).hexdigest()
                created = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                event_id = f"evtb_{transfer_id}"
                leaf = hashlib.sha256(
                    rfc8785.dumps(
                        {
                            "eventId": event_id,
                            "actorId": "system",
                            "action": "bench.raw",
                            "objectType": "transfer",
                            "objectId": transfer_id,
                            "payloadSha256": payload_sha,
                            "createdAt": created,
                        }
                    )
                ).hexdigest()
                # The audit leaf, without its position (the sequencer chains it after the commit).
                cur.execute(
                    "INSERT INTO market_auditevent (event_id, actor_id, action, object_type, object_id, payload, "
                    "payload_sha256, content_hash, created_at) VALUES (%s, 'system', 'bench.raw', 'transfer', "
                    "%s, %s, %s, %s, %s)",
                    [event_id, transfer_id, payload, payload_sha, leaf, now],
                )
            return 1

        return op, conn.close

    return factory


# --- (b) the services -----------------------------------------------------------------------------------


def service_op_factory():
    from django.db import connections

    from market.services import escrow

    def factory(i: int):
        rnd = random.Random(2000 + i)
        open_settlement: list[str] = []

        def op() -> int:
            if open_settlement:
                escrow.escrow_release(settlement_id=open_settlement.pop(), by_actor_id="system")
            else:
                payer, payee = rnd.sample(ACTORS, 2)
                s = escrow.escrow_lock(
                    payer_actor_id=payer,
                    payee_actor_id=payee,
                    amount=1,
                    currency="USDC",
                    by_actor_id=payer,
                    reference="bench",
                )
                open_settlement.append(s.settlement_id)
            return 1

        return op, connections.close_all

    return factory


# --- pgbench -----------------------------------------------------------------------------------------


def pgbench_tps(url: str, seconds: float) -> str:
    exe = shutil.which("pgbench")
    if exe is None:
        return "skipped: pgbench is not installed"
    parts = urlsplit(url)
    env = {
        **os.environ,
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGUSER": parts.username or "postgres",
        "PGDATABASE": parts.path.lstrip("/"),
    }
    if parts.password:
        env["PGPASSWORD"] = parts.password
    init = subprocess.run([exe, "-i", "-q", "-s", "1"], env=env, capture_output=True, text=True, timeout=120)
    if init.returncode != 0:
        return f"skipped: pgbench -i failed ({init.stderr.strip().splitlines()[-1:]})"
    run = subprocess.run(
        [exe, "-c", "8", "-j", "2", "-T", str(int(seconds))],
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", run.stdout)
    if run.returncode != 0 or not match:
        return f"skipped: pgbench run failed ({run.stderr.strip().splitlines()[-1:]})"
    return f"{float(match.group(1)):.0f} tps (TPC-B-like, scale 1, 8 clients)"


def main() -> None:
    global SCRATCH  # noqa: PLW0603 - the one name every step of the run uses
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--clients", default="1,8", help="comma-separated client thread counts")
    parser.add_argument("--rounds", type=int, default=5, help="raw/services alternations per C")
    parser.add_argument("--admin-url", default=None)
    parser.add_argument("--scratch", default=SCRATCH, help=f"the scratch database's name (default {SCRATCH})")
    parser.add_argument("--scale-clients", default="1,8,32", help="client process counts against pgbench")
    parser.add_argument("--pgbench-scale", type=int, default=8, help="pgbench -i scale factor")
    parser.add_argument("--scale-only", action="store_true", help="only the processes-against-pgbench part")
    parser.add_argument("--code", default=str(ROOT), help="the checkout whose market code is measured")
    args = parser.parse_args()
    SCRATCH = args.scratch
    clients = [int(c) for c in args.clients.split(",")]

    admin = admin_url(args.admin_url)
    url = with_db(admin, SCRATCH)
    var_dir = tempfile.mkdtemp(prefix="openclaw-bench-ledger-")
    recreate(admin)
    try:
        print(f"scratch database {SCRATCH}: migrating", flush=True)
        setup_django(url, var_dir, Path(args.code))
        from django.db import connections

        from market.models import Account
        from market.services import ledger

        for actor in ACTORS:
            ledger.deposit(actor_id=actor, amount=FUNDING, currency="USDC")
        account_ids = list(Account.objects.filter(kind="actor").values_list("pk", flat=True))
        connections.close_all()
        if args.scale_only:
            clients = []

        # For each C, raw and services alternate in --rounds slices of the phase time, so that a
        # machine busier in one part of the run than in another skews the ratio as little as possible.
        rates: dict[tuple[str, int], float] = {}
        factories = {"raw": lambda: raw_op_factory(url, account_ids), "services": service_op_factory}
        for c in clients:
            done = {kind: [0, 0.0] for kind in factories}
            for _ in range(args.rounds):
                for kind, factory in factories.items():
                    ops, elapsed = run_phase(c, args.seconds / args.rounds, factory())
                    done[kind][0] += ops
                    done[kind][1] += elapsed
            for kind, (ops, elapsed) in done.items():
                rates[kind, c] = ops / elapsed
            print(
                f"C={c}: (a) raw psycopg {rates['raw', c]:6.0f} transfers/s, "
                f"(b) services {rates['services', c]:6.0f} locks and releases/s",
                flush=True,
            )
        pgbench = pgbench_tps(url, args.seconds) if clients else "see below"

        from market.audit.verify import problems

        print()
        print(f"{'clients':>8} {'raw/s':>10} {'services/s':>12} {'ratio':>7}")
        for c in clients:
            ratio = rates["services", c] / rates["raw", c]
            flag = "ok" if ratio >= GOAL else f"below the goal of {GOAL}"
            print(f"{c:>8} {rates['raw', c]:>10.0f} {rates['services', c]:>12.0f} {ratio:>7.2f}  {flag}")
        print(f"pgbench: {pgbench}")
        print()
        from ledger_scale import scale_report

        scale_report(admin, ACTORS, [int(c) for c in args.scale_clients.split(",")], args.seconds, args.pgbench_scale)
        found = list(problems())
        connections.close_all()
        print(f"verify_audit after the run: {found[0] if found else 'ok'}")
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: S110 - Django may not be set up yet
            pass
        recreate(admin, drop_only=True)
        shutil.rmtree(var_dir, ignore_errors=True)
        print(f"scratch database {SCRATCH} dropped")


if __name__ == "__main__":
    main()
