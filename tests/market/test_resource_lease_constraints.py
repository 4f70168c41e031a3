"""The database itself refuses resource, lease, invocation and usage rows that break the rules."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from market.models import Invocation, Lease, Resource, UsageEntry
from market.services import leases
from tests.resource_helpers import fund, search_resource

PROVIDER = "0x" + "ab" * 20
CONSUMER = "0x" + "cd" * 20


@pytest.fixture
def lease(db):
    fund(CONSUMER, 5)
    r = search_resource(PROVIDER)
    return leases.lease_issue(
        resource_id=r.resource_id, consumer_actor_id=CONSUMER, max_cost=1_000_000, currency="USDC", ttl_sec=60
    )


def _refused(fn):
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_lease_rows_keep_their_invariants(lease):
    q = Lease.objects.filter(pk=lease.pk)
    _refused(lambda: q.update(spent=lease.max_cost + 1))
    _refused(lambda: q.update(spent=-1))
    _refused(lambda: q.update(status="lease_exhausted", ended_at=timezone.now()))  # budget not spent
    _refused(lambda: q.update(status="lease_revoked"))  # an ended lease has ended_at
    _refused(lambda: q.update(status="lease_paused"))
    _refused(lambda: q.update(max_cost=0, spent=0))


def test_resource_rows_keep_their_invariants(lease):
    q = Resource.objects.filter(pk=lease.resource_id)
    _refused(lambda: q.update(unit="token"))  # a search is priced per query or call
    _refused(lambda: q.update(unit_price=-1))
    _refused(lambda: q.update(endpoint_sealed=""))
    _refused(lambda: q.update(backend="ftp"))


def test_invocation_and_usage_rows_keep_their_invariants(lease):
    inv = Invocation.objects.create(
        invocation_id="inv_x", lease=lease, resource=lease.resource, reserved=100, started_at=timezone.now()
    )
    _refused(lambda: Invocation.objects.filter(pk=inv.pk).update(cost=101))
    UsageEntry.objects.create(entry_id="use_1", lease=lease, source="provider", units=1, amount=0, usage_ref="r")
    _refused(
        lambda: UsageEntry.objects.create(
            entry_id="use_2", lease=lease, source="provider", units=1, amount=0, usage_ref="r"
        )
    )
    _refused(
        lambda: UsageEntry.objects.create(
            entry_id="use_3", lease=lease, source="provider", units=1, amount=5, usage_ref="charged-without-transfer"
        )
    )
    _refused(
        lambda: UsageEntry.objects.create(
            entry_id="use_4", lease=lease, source="consumer", units=1, amount=0, usage_ref="forged"
        )
    )


def test_no_row_bills_more_units_than_were_reserved_or_reported(lease):
    # an invocation bills at most the units it reserved
    inv = Invocation.objects.create(
        invocation_id="inv_y",
        lease=lease,
        resource=lease.resource,
        reserved=100,
        reserved_units=10,
        started_at=timezone.now(),
    )
    _refused(lambda: Invocation.objects.filter(pk=inv.pk).update(units=11))
    assert Invocation.objects.filter(pk=inv.pk).update(units=10, reported_units=5000) == 1
    # a usage entry bills at most the units reported (none reported: the reservation was billed)
    _refused(
        lambda: UsageEntry.objects.create(
            entry_id="use_5", lease=lease, source="provider", units=6, reported_units=5, amount=0, usage_ref="over"
        )
    )
    UsageEntry.objects.create(
        entry_id="use_6", lease=lease, source="proxy", units=6, reported_units=None, amount=0, usage_ref="silent"
    )
