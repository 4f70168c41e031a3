"""Console pages at scale: render time of the dashboard, the resources list, the leases list, the
ledger and the operator's overview (as staff) with 10k and with 100k objects, against a trivial
console page, in the same run.

    .venv/bin/python bench/console.py [--sizes 10000,100000] [--requests 30] [--pages /console/leases/,...]

In-process (Django's test client, bench.settings, a throw-away var/ with SQLite unless
DATABASE_URL is set), after `migrate`: one consumer (the viewer) and one provider; at each size the
market holds that many resources, leases of the consumer (each with its settlement) and released
transfers from the consumer to the provider spread over the last 30 days (rows inserted in bulk:
the figures are about reading them). Each page is read --requests times after a warm-up; prints
p50/p95 in ms, the ratio of each page's p50 to the trivial view's, and each page's growth from the
first size to the last. Goals: every page within 5x the trivial view, growing less than 2x.

The trivial view (/bench/template, bench/urls.py) is a fair baseline: a console page extending the
console's base.html, served through the same middleware (sessions, the viewer, CSP, messages) to
the same signed-in viewer, with its navigation, but reading no market data. The overview is read
from the snapshot the overview job stores (as beat would run it, the job is run once after each
size is inserted, and its own time printed beside the pages).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("WEB3_VAR_DIR", tempfile.mkdtemp(prefix="openclaw-bench-console-"))
# Throw-away keys for the throw-away database (the product reads them from var/, created by init_keys).
os.environ.setdefault("SECRET_KEY", os.urandom(32).hex())
os.environ.setdefault("WEB3_SECRETS_KEY", "n8OQmG7mFZ7u5P4gq1oQe0qz3s1m0cK1yXlS7c9l0mA=")
os.environ.setdefault("WEB3_CHECKPOINT_KEY", "0x" + os.urandom(32).hex())

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from console.viewer import SESSION_TOKEN  # noqa: E402
from market.models import Account, Lease, Resource, Settlement, Transfer  # noqa: E402
from market.selectors.account_hours import rebuild_sql  # noqa: E402
from web3api.models import ActorToken  # noqa: E402
from web3api.overview import overview_refresh  # noqa: E402

PROVIDER = "0x" + "11" * 20
CONSUMER = "0x" + "22" * 20
OPERATOR = "0x" + "33" * 20  # staff: reads the overview
PAGES = ["/bench/template", "/console/", "/console/resources/", "/console/leases/", "/console/ledger/"]
STAFF_PAGES = ["/console/overview/"]
BATCH = 5000


def _accounts() -> tuple[Account, Account]:
    big = 10**15
    consumer, _ = Account.objects.get_or_create(
        actor_id=CONSUMER, currency="USDC", kind="actor", defaults={"credits_posted": big}
    )
    provider, _ = Account.objects.get_or_create(actor_id=PROVIDER, currency="USDC", kind="actor")
    return consumer, provider


def _bulk(model, rows) -> None:
    """bulk_create keeping the given created_at (auto_now_add would overwrite it)."""
    field = model._meta.get_field("created_at")
    field.auto_now_add, saved = False, field.auto_now_add
    try:
        model.objects.bulk_create(rows, batch_size=BATCH)
    finally:
        field.auto_now_add = saved


def grow(size: int) -> None:
    consumer, provider = _accounts()
    now = timezone.now()
    have = Resource.objects.count()
    _bulk(
        Resource,
        [
            Resource(
                resource_id=f"res_bench{i:08d}",
                provider_actor_id=PROVIDER,
                kind="search",
                name=f"search {i}",
                backend="searxng",
                endpoint_sealed="sealed",
                unit="query",
                unit_price=10_000,
                currency="USDC",
                policy={"maxConcurrent": 4},
                tags=["web"],
                tags_text=",web,",
                hash="sha256:bench",
                created_at=now - timedelta(seconds=i),
            )
            for i in range(have, size)
        ],
    )
    first = Resource.objects.order_by("pk").first()
    have = Settlement.objects.count()
    _bulk(
        Settlement,
        [
            Settlement(
                settlement_id=f"stl_bench{i:08d}",
                status="settlement_partially_released",
                currency="USDC",
                payer_actor_id=CONSUMER,
                payee_actor_id=PROVIDER,
                payer_account=consumer,
                payee_account=provider,
                locked=1_000_000,
                released=20_000,
                reference=f"lease:lease_bench{i:08d}",
                created_at=now - timedelta(seconds=i),
            )
            for i in range(have, size)
        ],
    )
    settlements = dict(
        Settlement.objects.filter(settlement_id__startswith="stl_bench").values_list("settlement_id", "pk")
    )
    have = Lease.objects.count()
    _bulk(
        Lease,
        [
            Lease(
                lease_id=f"lease_bench{i:08d}",
                resource=first,
                consumer_actor_id=CONSUMER,
                provider_actor_id=PROVIDER,
                unit="query",
                unit_price=10_000,
                currency="USDC",
                max_cost=1_000_000,
                spent=20_000,
                ttl_sec=86400,
                expires_at=now + timedelta(days=1),
                settlement_id=settlements[f"stl_bench{i:08d}"],
                hash="sha256:bench",
                created_at=now - timedelta(seconds=i),
            )
            for i in range(have, size)
        ],
    )
    _transfers(consumer, provider, now, size, settlements)


def _transfers(consumer: Account, provider: Account, now, size: int, settlements: dict[str, int]) -> None:
    """Released transfers over the last 30 days, and their hourly totals rebuilt from them in one
    statement (the ledger writes those with each transfer; bulk rows need them rebuilt)."""
    have = Transfer.objects.count()
    span = 30 * 86400
    _bulk(
        Transfer,
        [
            Transfer(
                transfer_id=f"xfr_bench{i:08d}",
                debit_account=consumer,
                credit_account=provider,
                amount=10_000,
                currency="USDC",
                kind="posted",
                code="escrow_release",
                reference=f"lease:lease_bench{i % size:08d}",
                settlement_id=settlements[f"stl_bench{i % size:08d}"],
                created_at=now - timedelta(seconds=(i * 7919) % span),
            )
            for i in range(have, size)
        ],
    )
    with connection.cursor() as cursor:
        for statement in rebuild_sql():
            cursor.execute(statement)


def signed_in_client(actor_id: str = CONSUMER) -> Client:
    token = ActorToken.objects.create(
        token_hash=os.urandom(32).hex(), actor_id=actor_id, expires_at=timezone.now() + timedelta(days=1)
    )
    client = Client()
    session = client.session
    session[SESSION_TOKEN] = token.pk
    session.save()
    client.cookies["sessionid"] = session.session_key
    return client


def measure(client: Client, path: str, n: int) -> tuple[float, float]:
    for _ in range(3):
        assert client.get(path).status_code == 200, path
    times = []
    for _ in range(n):
        start = time.perf_counter()
        r = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, path
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument(
        "--pages", default=",".join([*PAGES[1:], *STAFF_PAGES]), help="which console pages (comma-separated)"
    )
    args = parser.parse_args()
    pages = [PAGES[0], *args.pages.split(",")]
    sizes = [int(s) for s in args.sizes.split(",")]
    call_command("migrate", verbosity=0)
    client = signed_in_client()
    from web3api.identity.services import role_grant

    role_grant(actor_id=OPERATOR, role="staff")
    staff = signed_in_client(OPERATOR)
    results: dict[int, dict[str, tuple[float, float]]] = {}
    for size in sizes:
        started = time.perf_counter()
        grow(size)
        print(f"-- {size} resources, leases and transfers (inserted in {time.perf_counter() - started:.1f} s)")
        print(f"   the overview job: {overview_refresh()}")
        results[size] = {path: measure(staff if path in STAFF_PAGES else client, path, args.requests) for path in pages}
        base = results[size][PAGES[0]][0]
        for path, (p50, p95) in results[size].items():
            print(f"   {path:<22} p50 {p50:8.2f} ms  p95 {p95:8.2f} ms  x{p50 / base:6.2f} of the trivial view")
    first, last = sizes[0], sizes[-1]
    print(f"-- growth of p50 from {first} to {last} (goal < 2x), and worst ratio to the trivial view (goal <= 5x)")
    for path in pages[1:]:
        growth = results[last][path][0] / results[first][path][0]
        worst = max(results[s][path][0] / results[s][PAGES[0]][0] for s in sizes)
        print(f"   {path:<22} growth x{growth:5.2f}   worst x{worst:6.2f}")


if __name__ == "__main__":
    main()
