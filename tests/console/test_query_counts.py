"""No page of the console costs a query per object: every page's query count is the same with 50
objects of each kind as with 500."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from eth_account import Account

from market.models import Lease, Resource
from market.services import leases, tasks
from market.services.resources import resource_publish
from tests.console.support import console_sign_in
from tests.resource_helpers import USDC, fund

pytestmark = pytest.mark.django_db


def _grow(provider: str, consumer: str, n: int) -> None:
    """Up to n resources of the provider, n leases of the consumer (each charged), n tasks."""
    for i in range(Resource.objects.count(), n):
        resource_publish(
            provider_actor_id=provider,
            kind="search",
            name=f"search {i}",
            backend="searxng",
            endpoint="https://search.example.net",
            pricing={"unit": "query", "unitPrice": USDC // 100, "currency": "USDC"},
            tags=["web"],
        )
    first = Resource.objects.order_by("pk").first()
    for i in range(Lease.objects.count(), n):
        lease = leases.lease_issue(
            resource_id=first.resource_id, consumer_actor_id=consumer, max_cost=USDC, currency="USDC", ttl_sec=3600
        )
        leases.usage_append(lease_id=lease.lease_id, actor_id=provider, units=2, usage_ref=f"u{i}")
        tasks.task_publish(
            actor_id=consumer, title=f"task {i}", requirements="r", budget=USDC, currency="USDC", ttl_sec=3600
        )


def _counts(client, paths: list[str]) -> dict[str, int]:
    out = {}
    for path in paths:
        with CaptureQueriesContext(connection) as ctx:
            r = client.get(path)
        assert r.status_code == 200, path
        out[path] = len(ctx.captured_queries)
    return out


def test_every_page_costs_the_same_queries_with_50_and_500_objects(settings):
    settings.WEB3_MAX_OPEN_TASKS = 1000
    # given a provider and a consumer (each signed in) with 50 resources, leases (each charged) and tasks
    provider, consumer = Account.create(), Account.create()
    fund(consumer.address.lower(), 1000)
    clients = {"provider": Client(), "consumer": Client()}
    console_sign_in(clients["provider"], provider)
    console_sign_in(clients["consumer"], consumer)
    _grow(provider.address.lower(), consumer.address.lower(), 50)
    resource = Resource.objects.order_by("pk").first()
    lease = Lease.objects.order_by("pk").first()
    paths = [
        "/console/",
        "/console/resources/",
        "/console/resources/?kind=search&maxUnitPrice=1&tag=web",
        f"/console/resources/{resource.resource_id}/",
        "/console/leases/",
        f"/console/leases/{lease.lease_id}/",
        "/console/ledger/",
        "/console/tasks/",
        "/console/disputes/",
        "/console/charts/daily.svg?currency=USDC",
    ]
    # when every page is read, then again with 500 of each
    small = {name: _counts(client, paths) for name, client in clients.items()}
    _grow(provider.address.lower(), consumer.address.lower(), 500)
    large = {name: _counts(client, paths) for name, client in clients.items()}
    # then each page costs the same number of queries
    assert large == small
