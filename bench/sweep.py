"""The lease expiry sweep against the equivalent raw set-based SQL, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/sweep.py [--sizes 10000 100000]

Creates a scratch database `bench_sweep` on that server (dropped first if it exists, dropped again
at the end), migrates it, and for each size N loads two identical sets of N active leases (each
with its settlement, its pending lock transfer and the accounts' pending totals): set A expired
for the sweep, set B expired only for the baseline's later clock. Then it times
  - sweep:    market.services.leases.lease_expire_sweep (the product's code, batches, ORM), on A,
              and then the audit sequencer for the leaves it left unsequenced (its runs after the
              batches' commits are timed with the sweep: the baseline chains its events too);
  - raw SQL:  the same work done set-based by hand on B in one transaction: the leases updated, one
              refund transfer per settlement inserted, the account totals and settlements updated,
              and the same two audit events per lease (hash-chained, hashed in Python) inserted;
checks the ledger and the audit chain afterwards, and prints both times and the ratios
sweep/raw (goal <= 3) and sweep(100k)/sweep(10k) (goal <= 12).
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCRATCH = "bench_sweep"
CONSUMER = {"A": "0x" + "a1" * 20, "B": "0x" + "b1" * 20}
PROVIDER = "0x" + "e1" * 20
LOCKED = 1_000_000


def scratch_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + SCRATCH, parts.query, ""))


def admin_sql(url: str, statement: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(
        urlunsplit(
            (
                parts.scheme.replace("postgres", "postgresql", 1) if parts.scheme == "postgres" else parts.scheme,
                parts.netloc,
                "/postgres",
                "",
                "",
            )
        ),
        autocommit=True,
    ) as c:
        c.execute(statement)


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = scratch_url(url)
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("WEB3_VAR_DIR", tempfile.mkdtemp(prefix="bench-sweep-"))
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
    os.environ.setdefault("WEB3_SECRETS_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    os.environ.setdefault("WEB3_CHECKPOINT_KEY", "0x" + "5d" * 32)
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_SETTINGS_MODULE"] = "openclaw.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def load(tag: str, n: int, expires_at) -> None:
    """N active leases for CONSUMER[tag], each with its settlement and pending lock transfer."""
    from django.db import connection, transaction
    from django.db.models import F

    from market.models import Account
    from market.services import ledger
    from market.services.resources import resource_publish

    consumer = CONSUMER[tag][:-6] + f"{n % 10**6:06d}"  # one consumer per set and size
    ledger.deposit(actor_id=consumer, amount=n * LOCKED, currency="USDC")
    cacc = ledger.account_open(actor_id=consumer, currency="USDC").pk
    pacc = ledger.account_open(actor_id=PROVIDER, currency="USDC").pk
    res = resource_publish(
        provider_actor_id=PROVIDER,
        kind="search",
        name=f"bench {tag}{n}",
        backend="searxng",
        endpoint="https://search.example.net",
        pricing={"unit": "query", "unitPrice": 10_000, "currency": "USDC"},
    )
    key = f"{tag}{n}"
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO market_settlement (settlement_id, status, currency, payer_actor_id, payee_actor_id,
                payer_account_id, payee_account_id, locked, released, refunded, reference, created_at, updated_at)
            SELECT 'stl_' || %s || '_' || g, 'settlement_locked', 'USDC', %s, %s, %s, %s, %s, 0, 0,
                   'lease:lease_' || %s || '_' || g, now(), now()
            FROM generate_series(1, %s) g""",
            [key, consumer, PROVIDER, cacc, pacc, LOCKED, key, n],
        )
        cur.execute(
            """
            INSERT INTO market_transfer (transfer_id, debit_account_id, credit_account_id, amount, currency, kind,
                code, settlement_id, reference, created_at)
            SELECT 'tr_' || s.settlement_id, %s, %s, s.locked, 'USDC', 'pending', 'escrow_lock', s.id, s.reference,
                   now()
            FROM market_settlement s WHERE s.settlement_id LIKE %s""",
            [cacc, pacc, f"stl\\_{key}\\_%"],
        )
        cur.execute("""
            UPDATE market_settlement s SET lock_transfer_id = t.id FROM market_transfer t
            WHERE t.settlement_id = s.id AND t.kind = 'pending' AND s.lock_transfer_id IS NULL""")
        cur.execute(
            """
            INSERT INTO market_lease (lease_id, resource_id, consumer_actor_id, provider_actor_id, unit, unit_price,
                currency, policy, max_cost, spent, ttl_sec, expires_at, settlement_id, hash, status, created_at,
                updated_at)
            SELECT substr(s.reference, 7), %s, %s, %s, 'query', 10000, 'USDC', '{}'::jsonb, s.locked, 0, 60, %s, s.id,
                   'sha256:bench', 'lease_active', now(), now()
            FROM market_settlement s WHERE s.settlement_id LIKE %s""",
            [res.pk, consumer, PROVIDER, expires_at, f"stl\\_{key}\\_%"],
        )
        Account.objects.filter(pk=cacc).update(debits_pending=n * LOCKED)
        Account.objects.filter(pk=pacc).update(credits_pending=F("credits_pending") + n * LOCKED)
        cur.execute("ANALYZE")


def raw_sweep(as_of) -> int:
    """The sweep's effect, by hand, set-based, in one transaction."""
    import hashlib

    from django.db import connection, transaction
    from django.utils import timezone

    from market.audit.hashchain import GENESIS_HASH, content_hash, event_hash, event_time_text
    from market.audit.log import redact
    from market.canonical import canonical
    from market.ids import new_id

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            """
            UPDATE market_lease SET status = 'lease_expired', ended_at = %s, updated_at = %s
            WHERE status = 'lease_active' AND expires_at <= %s
            RETURNING id, lease_id, settlement_id, consumer_actor_id, provider_actor_id, spent""",
            [as_of, as_of, as_of],
        )
        leases = cur.fetchall()
        ids = [row[2] for row in leases]
        cur.execute(
            """
            SELECT id, settlement_id, payer_account_id, payee_account_id, locked, released, refunded, reference,
                   payer_actor_id, payee_actor_id
            FROM market_settlement WHERE id = ANY(%s) AND status IN ('settlement_locked',
                 'settlement_partially_released') FOR UPDATE""",
            [ids],
        )
        settlements = {row[0]: row for row in cur.fetchall()}
        cur.execute(
            """
            INSERT INTO market_transfer (transfer_id, debit_account_id, credit_account_id, amount, currency, kind,
                code, pending_id, settlement_id, reference, created_at)
            SELECT 'trr_' || s.settlement_id, s.payer_account_id, s.payee_account_id,
                   s.locked - s.released - s.refunded, s.currency, 'void_pending', 'escrow_refund',
                   s.lock_transfer_id, s.id, s.reference, now()
            FROM market_settlement s WHERE s.id = ANY(%s)""",
            [list(settlements)],
        )
        for column, side in (("debits_pending", "payer_account_id"), ("credits_pending", "payee_account_id")):
            cur.execute(
                f"""
                UPDATE market_account a SET {column} = a.{column} - d.total
                FROM (SELECT {side} AS acc, SUM(locked - released - refunded) AS total
                      FROM market_settlement WHERE id = ANY(%s) GROUP BY {side}) d
                WHERE a.id = d.acc""",
                [list(settlements)],
            )
        cur.execute(
            """
            UPDATE market_settlement SET refunded = locked - released, status = 'settlement_refunded',
                   updated_at = now() WHERE id = ANY(%s)""",
            [list(settlements)],
        )
        # the audit events: two per lease, hash-chained
        cur.execute("SELECT next_seq, last_hash FROM market_audithead WHERE id = 1 FOR UPDATE")
        head = cur.fetchone() or (0, GENESIS_HASH)
        seq, prev = head
        now = timezone.now()
        created = event_time_text(now)
        cols = {
            k: []
            for k in (
                "seq",
                "event_id",
                "actor_id",
                "action",
                "object_type",
                "object_id",
                "payload",
                "payload_sha256",
                "prev_hash",
                "hash",
                "content_hash",
            )
        }
        party_event, party_actor = [], []

        def add(action, object_type, object_id, payload, parties):
            nonlocal seq, prev
            text = canonical(redact(payload)).decode()
            sha = hashlib.sha256(text.encode()).hexdigest()
            event_id = new_id("evt")
            content = {
                "event_id": event_id,
                "actor_id": "system",
                "action": action,
                "object_type": object_type,
                "object_id": object_id,
                "payload_sha256": sha,
                "created_at": created,
            }
            digest = event_hash(seq=seq, prev_hash=prev, **content)
            row = (seq, event_id, "system", action, object_type, object_id, text, sha, prev, digest)
            row += (content_hash(**content),)
            for k, v in zip(cols, row, strict=True):
                cols[k].append(v)
            for actor in sorted(set(parties)):
                party_event.append(event_id)
                party_actor.append(actor)
            seq, prev = seq + 1, digest

        for s in settlements.values():
            remaining = s[4] - s[5] - s[6]
            add(
                "settlement.refund",
                "settlement",
                s[1],
                {
                    "currency": "USDC",
                    "payer": s[8],
                    "payee": s[9],
                    "locked": f"{s[4] / 1e6:.6f}",
                    "released": f"{s[5] / 1e6:.6f}",
                    "refunded": f"{remaining / 1e6:.6f}",
                    "status": "settlement_refunded",
                    "reference": s[7],
                    "amount": f"{remaining / 1e6:.6f}",
                    "reason": "lease expired",
                    "transferId": f"trr_{s[1]}",
                },
                [s[8], s[9]],
            )
        for _, lease_id, settlement_pk, consumer, provider, spent in leases:
            s = settlements[settlement_pk]
            add(
                "lease.expire",
                "lease",
                lease_id,
                {
                    "status": "lease_expired",
                    "spent": f"{spent / 1e6:.6f}",
                    "refunded": f"{(s[4] - s[5]) / 1e6:.6f}",
                    "currency": "USDC",
                    "settlementId": s[1],
                },
                [consumer, provider],
            )
        cur.execute(
            """
            INSERT INTO market_auditevent (seq, event_id, actor_id, action, object_type, object_id, payload,
                payload_sha256, prev_hash, hash, content_hash, created_at)
            SELECT *, %s FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                                     %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])""",
            [now, *cols.values()],
        )
        cur.execute(
            """
            INSERT INTO market_auditparty (event_id, actor_id)
            SELECT e.id, p.actor FROM unnest(%s::text[], %s::text[]) AS p(eid, actor)
            JOIN market_auditevent e ON e.event_id = p.eid""",
            [party_event, party_actor],
        )
        cur.execute("UPDATE market_audithead SET next_seq = %s, last_hash = %s WHERE id = 1", [seq, prev])
        return len(leases)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("set DATABASE_URL to a PostgreSQL server (the bench creates its own scratch database there)")
        return 2
    admin_sql(url, f"DROP DATABASE IF EXISTS {SCRATCH}")
    admin_sql(url, f"CREATE DATABASE {SCRATCH}")
    try:
        setup_django(url)
        from django.db import connection
        from django.utils import timezone

        from market.audit.sequencer import audit_sequence
        from market.audit.verify import audit_chain_problems, ledger_problems
        from market.services.leases import lease_expire_sweep

        results = {}
        for n in args.sizes:
            t0 = timezone.now()
            load("A", n, t0 - timedelta(hours=1))
            load("B", n, t0 + timedelta(hours=1))
            started = time.perf_counter()
            swept = lease_expire_sweep(as_of=t0)["expired"]
            audit_sequence()
            sweep_sec = time.perf_counter() - started
            started = time.perf_counter()
            raw = raw_sweep(t0 + timedelta(hours=2))
            raw_sec = time.perf_counter() - started
            assert swept == n and raw == n, (swept, raw, n)
            results[n] = (sweep_sec, raw_sec)
            print(
                f"N={n:>7}: sweep {sweep_sec:8.3f} s   raw SQL {raw_sec:8.3f} s   "
                f"sweep/raw {sweep_sec / raw_sec:5.2f}   ({n / sweep_sec:,.0f} leases/s)",
                flush=True,
            )
            with connection.cursor() as cur:
                cur.execute("ANALYZE")
        problems = [*ledger_problems(), *audit_chain_problems()]
        print("ledger and audit chain:", "consistent" if not problems else problems[:3])
        sizes = sorted(results)
        if len(sizes) >= 2:
            small, large = sizes[0], sizes[-1]
            print(
                f"sweep {large} / sweep {small}: {results[large][0] / results[small][0]:.2f}x "
                f"(for {large / small:.0f}x the leases; goal <= 12)"
            )
        worst = max(s / r for s, r in results.values())
        print(f"worst sweep/raw: {worst:.2f} (goal <= 3)")
        return 0 if not problems else 1
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin_sql(url, f"DROP DATABASE IF EXISTS {SCRATCH}")


if __name__ == "__main__":
    sys.exit(main())
