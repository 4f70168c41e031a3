"""verify_audit's lease invariants name a lease whose figures disagree with its settlement."""

from market.audit.verify import problems
from market.models import Lease, Settlement
from market.services import leases
from tests.resource_helpers import fund, search_resource

PROVIDER = "0x" + "ab" * 20
CONSUMER = "0x" + "cd" * 20


def _lease():
    fund(CONSUMER, 5)
    r = search_resource(PROVIDER)
    lease = leases.lease_issue(
        resource_id=r.resource_id, consumer_actor_id=CONSUMER, max_cost=1_000_000, currency="USDC", ttl_sec=60
    )
    leases.usage_append(lease_id=lease.lease_id, actor_id=PROVIDER, units=3, usage_ref="r1")
    return lease


def test_a_consistent_market_has_no_lease_problems(db):
    _lease()
    assert list(problems()) == []


def test_spent_edited_behind_the_ledger_is_named(db):
    lease = _lease()
    Lease.objects.filter(pk=lease.pk).update(spent=10)
    assert list(problems()) == [f"lease {lease.lease_id}: spent differs from its settlement's released amount"]


def test_an_active_lease_with_a_closed_settlement_is_named(db):
    lease = _lease()
    Settlement.objects.filter(pk=lease.settlement_id).update(status="settlement_refunded", refunded=970_000)
    found = [p for p in problems() if p.startswith("lease ")]
    assert found == [f"lease {lease.lease_id} is lease_active but its settlement is settlement_refunded"]
