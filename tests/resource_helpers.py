"""Fixtures and helpers shared by the resource, lease and invoke tests (import them by name)."""

from __future__ import annotations

from market.models import Invocation, Lease, Resource, Settlement, Transfer, UsageEntry
from market.selectors.ledger import balances
from market.services import ledger, resources

USDC = 10**6  # minor units per USDC


def fund(actor_id: str, whole: int) -> None:
    ledger.deposit(actor_id=actor_id, amount=whole * USDC, currency="USDC", reason="test funding")


def search_resource(provider_actor_id: str) -> Resource:
    """A search resource at 0.01 USDC a query, published through the service."""
    return resources.resource_publish(
        provider_actor_id=provider_actor_id,
        kind="search",
        name="s",
        backend="searxng",
        endpoint="https://search.example.net",
        pricing={"unit": "query", "unitPrice": USDC // 100, "currency": "USDC"},
    )


def bal(actor_id: str) -> tuple[int, int]:
    """(available, locked) in minor units."""
    b = balances(actor_id)["USDC"]
    return b["available"], b["locked"]


def publish(
    api,
    server=None,
    *,
    kind="search",
    backend="searxng",
    unit="query",
    price="0.010000",
    endpoint: str | None = None,
    **extra,
):
    if endpoint is None:
        endpoint = (
            server.base + {"openai-compat": "/v1", "searxng": "", "http-blob": "/blob", "custom": "/custom"}[backend]
        )
    params = {
        "kind": kind,
        "name": f"{backend} resource",
        "backend": backend,
        "endpoint": endpoint,
        "pricing": {"unit": unit, "unitPrice": price, "currency": "USDC"},
        **extra,
    }
    return api.call("web3.resources.publish", params)


def counts() -> dict[str, int]:
    return {
        "leases": Lease.objects.count(),
        "settlements": Settlement.objects.count(),
        "transfers": Transfer.objects.count(),
        "usage": UsageEntry.objects.count(),
        "invocations": Invocation.objects.count(),
    }
