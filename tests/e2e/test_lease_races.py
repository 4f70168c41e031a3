"""Races on PostgreSQL: sweeps and revokes settle each lease once; concurrent invokes never
overspend a lease."""

import threading
from datetime import timedelta

import pytest
from django.db.models import Count, Q
from django.utils import timezone

from market.audit.verify import problems
from market.errors import MarketError
from market.models import Lease, Settlement, Transfer
from market.services import leases as lease_services
from market.services import resources as resource_services
from market.services.invoke import invoke
from tests.conftest import in_thread
from tests.provider_server import ProviderServer
from tests.resource_helpers import USDC, bal, fund

PROVIDER = "0x" + "ab" * 20
CONSUMER = "0x" + "cd" * 20

pytestmark = [pytest.mark.concurrency, pytest.mark.postgres]


def _resource(endpoint="https://search.example.net", **policy):
    return resource_services.resource_publish(
        provider_actor_id=PROVIDER,
        kind="search",
        name="s",
        backend="searxng",
        endpoint=endpoint,
        pricing={"unit": "query", "unitPrice": 10_000, "currency": "USDC"},
        policy=policy or None,
    )


def test_two_sweeps_and_a_revoke_settle_each_lease_once(transactional_db):
    # given: 30 leases that the sweeps see as expired while the revoker may still revoke them
    fund(CONSUMER, 100)
    r = _resource()
    leases = [
        lease_services.lease_issue(
            resource_id=r.resource_id, consumer_actor_id=CONSUMER, max_cost=1_000_000, currency="USDC", ttl_sec=60
        )
        for _ in range(30)
    ]
    as_of = timezone.now() + timedelta(seconds=120)
    start = threading.Barrier(3)

    def sweep():
        start.wait()
        return lease_services.lease_expire_sweep(batch_size=7, as_of=as_of)["expired"]

    def revoke_all():
        start.wait()
        done = 0
        for lease in reversed(leases):
            try:
                lease_services.lease_revoke(lease_id=lease.lease_id, actor_id=CONSUMER)
                done += 1
            except MarketError:
                pass
        return done

    # when
    runs = [in_thread(sweep), in_thread(sweep), in_thread(revoke_all)]
    for thread, _ in runs:
        thread.join(60)
    outs = [out for _, out in runs]
    # then
    assert all("error" not in o for o in outs), outs
    assert sum(o["value"] for o in outs) == 30
    ended = Lease.objects.aggregate(
        exp=Count("pk", filter=Q(status="lease_expired")), rev=Count("pk", filter=Q(status="lease_revoked"))
    )
    assert ended["exp"] + ended["rev"] == 30 and ended["rev"] == outs[2]["value"]
    refunds = Transfer.objects.filter(code=Transfer.Code.ESCROW_REFUND).values("settlement").annotate(n=Count("pk"))
    assert sorted(row["n"] for row in refunds) == [1] * 30
    assert Settlement.objects.filter(status="settlement_refunded").count() == 30
    assert bal(CONSUMER) == (100 * USDC, 0)
    assert list(problems()) == []


def test_concurrent_invokes_never_overspend_the_lease(transactional_db):
    with ProviderServer() as server:
        server.state.delay_sec = 0.3
        fund(CONSUMER, 10)
        r = _resource(endpoint=server.base, maxConcurrent=50)
        lease = lease_services.lease_issue(
            resource_id=r.resource_id, consumer_actor_id=CONSUMER, max_cost=50_000, currency="USDC", ttl_sec=600
        )
        start = threading.Barrier(12)

        def one():
            start.wait()
            return invoke(lease_id=lease.lease_id, actor_id=CONSUMER, input={"q": "x"}).cost

        runs = [in_thread(one) for _ in range(12)]
        for thread, _ in runs:
            thread.join(60)
    outs = [out for _, out in runs]
    ok = [o["value"] for o in outs if "value" in o]
    codes = sorted(o["error"].code for o in outs if "error" in o)
    assert ok == [10_000] * 5
    assert set(codes) <= {"E_INSUFFICIENT_FUNDS", "E_REVOKED"} and len(codes) == 7
    lease.refresh_from_db()
    assert (lease.status, lease.spent) == ("lease_exhausted", 50_000)
    assert bal(PROVIDER) == (50_000, 0)
    assert bal(CONSUMER) == (10 * USDC - 50_000, 0)
    assert list(problems()) == []


def test_max_concurrent_holds_across_connections(transactional_db):
    with ProviderServer() as server:
        server.state.hold = True
        fund(CONSUMER, 10)
        r = _resource(endpoint=server.base, maxConcurrent=2)
        lease = lease_services.lease_issue(
            resource_id=r.resource_id, consumer_actor_id=CONSUMER, max_cost=1_000_000, currency="USDC", ttl_sec=600
        )

        def one():
            return invoke(lease_id=lease.lease_id, actor_id=CONSUMER, input={"q": "x"}).cost

        # given: two calls running at the provider, each on its own connection
        running = [in_thread(one) for _ in range(2)]
        assert server.state.entered.acquire(timeout=10) and server.state.entered.acquire(timeout=10)
        # when: a third call arrives
        with pytest.raises(MarketError) as refused:
            one()
        # then
        assert refused.value.code == "E_QUOTA_EXCEEDED"
        server.state.release.set()
        for thread, _ in running:
            thread.join(30)
    assert [out["value"] for _, out in running] == [10_000, 10_000]
    assert bal(PROVIDER) == (20_000, 0)
    assert list(problems()) == []
