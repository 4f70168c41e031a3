"""A market of `resources` resources and `invocations` finished calls, built with set-based SQL
(generate_series) on PostgreSQL, for bench/index.py and the index's query-plan test.

Shape: one provider per 100 resources; kinds in turn; unit prices spread over 0..0.999999 USDC; two
tags each (`t0`..`t49`, 2% of resources each, and `r0`..`r4999`, 0.02% each); 5% unpublished; half
reported within the last hour (fresh), 2% of all degraded in the current health bucket. One lease per
10 invocations (each with a settlement; 80% of them ended), 5% of the invocations failed by the
provider. The index's stored figures (ResourceStanding, ProviderStanding) are written as the
services would have left them; ANALYZE runs at the end, so the planner sees realistic statistics.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from market.health import HEALTH_BUCKET, bucket_start

TAGS_COMMON, TAGS_RARE = 50, 5000
CONSUMER = "0x" + "c0" * 20
INVOCATION_BATCH = 1_000_000


def provider_of(k: int, resources: int) -> str:
    """The provider of resource number k (1-based), as the SQL below names it."""
    return "0x" + format(k % providers(resources), "040x")


def providers(resources: int) -> int:
    return max(resources // 100, 1)


def _run(sql: str, params: list | tuple = ()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _one(sql: str, params: list | tuple = ()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def build(resources: int, invocations: int, *, now: datetime | None = None, progress=lambda text: None) -> int:
    """Insert the data set; returns the id of the first resource (resource number k has id first + k - 1)."""
    from market.models import Account

    now = now or timezone.now()
    p = providers(resources)
    ws = bucket_start(now)
    payer = Account.objects.get_or_create(actor_id=CONSUMER, currency="USDC", kind="actor")[0]
    payee = Account.objects.get_or_create(actor_id="0x" + "0" * 40, currency="USDC", kind="actor")[0]
    base = (_one("SELECT coalesce(max(id), 0) FROM market_resource") or 0) + 1
    _run(
        """
        INSERT INTO market_resource (id, resource_id, provider_actor_id, kind, name, description, backend,
            endpoint_sealed, access_token_sealed, unit, unit_price, currency, policy, tags, tags_text, hash,
            status, created_at, updated_at)
        SELECT %(base)s + g - 1, 'res_bench' || g, '0x' || lpad(to_hex(g %% %(p)s), 40, '0'),
            (ARRAY['model', 'search', 'storage'])[g %% 3 + 1], 'bench resource ' || g, '', 'custom',
            'sealed', '', 'call', (g::bigint * 7919) %% 1000000, 'USDC', '{}'::jsonb,
            jsonb_build_array('t' || (g %% %(tc)s), 'r' || (g %% %(tr)s)),
            ',t' || (g %% %(tc)s) || ',r' || (g %% %(tr)s) || ',', 'bench',
            CASE WHEN g %% 20 = 0 THEN 'resource_unpublished' ELSE 'resource_published' END, %(now)s, %(now)s
        FROM generate_series(1, %(n)s) AS g
        """,
        {"base": base, "p": p, "tc": TAGS_COMMON, "tr": TAGS_RARE, "now": now, "n": resources},
    )
    _run("SELECT setval(pg_get_serial_sequence('market_resource', 'id'), (SELECT max(id) FROM market_resource))")
    progress(f"{resources} resources")
    _run(
        """
        INSERT INTO market_resourcestanding (resource_id, last_reported_at, window_start, window_calls,
            window_faults, prior_calls, prior_faults, degraded_from, degraded_until)
        SELECT %(base)s + g - 1, %(now)s - (g %% 120) * interval '1 minute', %(ws)s,
            CASE WHEN g %% 50 = 0 THEN 10 ELSE g %% 7 END, CASE WHEN g %% 50 = 0 THEN 5 ELSE 0 END, 0, 0,
            CASE WHEN g %% 50 = 0 THEN %(ws)s END, CASE WHEN g %% 50 = 0 THEN %(until)s END
        FROM generate_series(1, %(n)s) AS g
        """,
        {"base": base, "now": now, "ws": ws, "until": ws + 2 * HEALTH_BUCKET, "n": resources},
    )
    leases = max(invocations // 10, 1)
    smin = (_one("SELECT coalesce(max(id), 0) FROM market_settlement") or 0) + 1
    _run(
        """
        INSERT INTO market_settlement (id, settlement_id, status, currency, payer_actor_id, payee_actor_id,
            payer_account_id, payee_account_id, locked, released, refunded, reference, created_at, updated_at)
        SELECT %(smin)s + g - 1, 'stl_bench' || g, 'settlement_locked', 'USDC', %(consumer)s,
            '0x' || lpad(to_hex(((g %% %(r)s) + 1) %% %(p)s), 40, '0'), %(payer)s, %(payee)s, 1000, 0, 0, '',
            %(now)s, %(now)s
        FROM generate_series(1, %(l)s) AS g
        """,
        {
            "smin": smin,
            "consumer": CONSUMER,
            "r": resources,
            "p": p,
            "payer": payer.pk,
            "payee": payee.pk,
            "now": now,
            "l": leases,
        },
    )
    _run("SELECT setval(pg_get_serial_sequence('market_settlement', 'id'), (SELECT max(id) FROM market_settlement))")
    lmin = (_one("SELECT coalesce(max(id), 0) FROM market_lease") or 0) + 1
    _run(
        """
        INSERT INTO market_lease (id, lease_id, resource_id, consumer_actor_id, provider_actor_id, unit, unit_price,
            currency, policy, max_cost, spent, ttl_sec, expires_at, settlement_id, hash, status, ended_at,
            created_at, updated_at)
        SELECT %(lmin)s + g - 1, 'lease_bench' || g, %(base)s + (g %% %(r)s), %(consumer)s,
            '0x' || lpad(to_hex(((g %% %(r)s) + 1) %% %(p)s), 40, '0'), 'call', 1, 'USDC', '{}'::jsonb, 1000, 0, 600,
            %(now)s + interval '10 minutes', %(smin)s + g - 1, 'bench',
            CASE WHEN g %% 5 = 0 THEN 'lease_active' ELSE 'lease_revoked' END,
            CASE WHEN g %% 5 = 0 THEN NULL ELSE %(now)s END, %(now)s, %(now)s
        FROM generate_series(1, %(l)s) AS g
        """,
        {
            "lmin": lmin,
            "base": base,
            "r": resources,
            "consumer": CONSUMER,
            "p": p,
            "now": now,
            "smin": smin,
            "l": leases,
        },
    )
    _run("SELECT setval(pg_get_serial_sequence('market_lease', 'id'), (SELECT max(id) FROM market_lease))")
    progress(f"{leases} leases and settlements")
    for lo in range(1, invocations + 1, INVOCATION_BATCH):
        hi = min(lo + INVOCATION_BATCH - 1, invocations)
        _run(
            """
            INSERT INTO market_invocation (invocation_id, lease_id, resource_id, reserved, reserved_units, units,
                reported_units, cost, error_code, status, started_at, finished_at)
            SELECT 'inv_bench' || g, %(lmin)s + (g %% %(l)s), %(base)s + ((g %% %(l)s + 1) %% %(r)s), 10, 10,
                1, 1, 1, CASE WHEN g %% 20 = 0 THEN 'E_UNAVAILABLE' ELSE '' END,
                CASE WHEN g %% 20 = 0 THEN 'invocation_failed' ELSE 'invocation_succeeded' END,
                %(now)s - (g %% 86400) * interval '1 second', %(now)s - (g %% 86400) * interval '1 second'
            FROM generate_series(%(lo)s, %(hi)s) AS g
            """,
            {"lmin": lmin, "l": leases, "base": base, "r": resources, "now": now, "lo": lo, "hi": hi},
        )
        progress(f"{hi} invocations")
    _run(
        """
        INSERT INTO market_providerstanding (actor_id, calls, faults)
        SELECT r.provider_actor_id, count(*), count(*) FILTER (WHERE i.error_code = 'E_UNAVAILABLE')
        FROM market_invocation i JOIN market_resource r ON r.id = i.resource_id
        GROUP BY r.provider_actor_id
        ON CONFLICT (actor_id) DO UPDATE SET calls = EXCLUDED.calls, faults = EXCLUDED.faults
        """
    )
    for table in (
        "market_resource",
        "market_resourcestanding",
        "market_lease",
        "market_settlement",
        "market_invocation",
        "market_providerstanding",
    ):
        _run(f"ANALYZE {table}")
    progress("provider standings; ANALYZE")
    return base


def reage(now: datetime | None = None) -> timedelta:
    """Move a kept market's standings forward by whole health buckets, so that they look as if
    built less than a bucket ago: the reports and calls age with the clock (after an hour no
    report is fresh, and the degraded spans end), and the buckets must stay aligned. Returns the
    shift; VACUUM ANALYZE after it, so the planner sees the moved times and no dead rows."""
    built = _one("SELECT max(last_reported_at) FROM market_resourcestanding")  # the build's clock
    shift = HEALTH_BUCKET * (((now or timezone.now()) - built) // HEALTH_BUCKET)
    if shift > timedelta(0):
        _run(
            """
            UPDATE market_resourcestanding SET last_reported_at = last_reported_at + %(s)s,
                window_start = window_start + %(s)s, degraded_from = degraded_from + %(s)s,
                degraded_until = degraded_until + %(s)s
            """,
            {"s": shift},
        )
        _run("VACUUM ANALYZE market_resourcestanding")
    return shift


READ_TABLES = ("market_resource", "market_resourcestanding", "market_lease", "market_providerstanding")


def vacuum() -> None:
    """VACUUM ANALYZE the tables the lists read, as autovacuum would have after the build (it
    cannot run inside a transaction, so build() only ANALYZEs): index-only scans need their pages
    marked all-visible. Quick on tables vacuumed before."""
    _run("VACUUM (ANALYZE) " + ", ".join(READ_TABLES))
