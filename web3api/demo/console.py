"""Demo step for the console: money that has moved, so every dashboard has figures — the
consumer's leases of the demo search, charged by the provider's usage (one lease still running,
one revoked and settled); a storage resource with an access token (stored encrypted; the console's
pages never show it); and a low-balance notice on the consumer's dashboard. Idempotent."""

from __future__ import annotations

from collections.abc import Callable

from market.models import BalanceThreshold, Lease, Resource
from market.money import currencies, parse_amount
from market.services import leases as lease_services
from market.services import resources as resource_services
from market.services.preferences import threshold_set
from web3api.demo.provider import DEFAULT_PORT

STORAGE = "Demo blob storage"
# A token the provider onboarding stores write-only; the console's canary test looks for it.
STORAGE_TOKEN = "demo-storage-access-token-7f3a"  # noqa: S105 - a demo value, never a real secret


def _lease_with_usage(*, resource: Resource, consumer: str, provider: str, ref: str, units: int, end: bool) -> None:
    if Lease.objects.filter(resource=resource, consumer_actor_id=consumer, usage_entries__usage_ref=ref).exists():
        return
    lease = lease_services.lease_issue(
        resource_id=resource.resource_id,
        consumer_actor_id=consumer,
        max_cost=parse_amount("1", resource.currency),
        currency=resource.currency,
        max_cost_text="1",
        ttl_sec=3 * 86400,
    )
    lease_services.usage_append(lease_id=lease.lease_id, actor_id=provider, units=units, usage_ref=ref)
    if end:
        lease_services.lease_revoke(lease_id=lease.lease_id, actor_id=consumer)


def step_console(wallets, out: Callable[[str], None]) -> None:
    if "USDC" not in currencies():
        out("console demo skipped: the demo resources are priced in USDC")
        return
    provider, consumer = wallets["provider"].address, wallets["consumer"].address
    search = Resource.objects.filter(provider_actor_id=provider, name="Demo web search").first()
    if search is not None:
        _lease_with_usage(
            resource=search, consumer=consumer, provider=provider, ref="demo-console-1", units=12, end=True
        )
        _lease_with_usage(
            resource=search, consumer=consumer, provider=provider, ref="demo-console-2", units=5, end=False
        )
        out("consumer's search leases charged by the provider (one settled, one running)")
    if not Resource.objects.filter(provider_actor_id=provider, name=STORAGE).exists():
        resource_services.resource_publish(
            provider_actor_id=provider,
            kind="storage",
            name=STORAGE,
            backend="http-blob",
            endpoint=f"http://localhost:{DEFAULT_PORT}/blob",
            access_token=STORAGE_TOKEN,
            pricing={"unit": "byte", "unitPrice": parse_amount("0.50", "USDC"), "currency": "USDC"},
            description="Content-addressed blobs: put and get by sha256.",
            policy={"maxBytes": 65536},
            tags=["storage", "demo"],
        )
        out(f"published resource '{STORAGE}' (with an access token, stored encrypted)")
    if not BalanceThreshold.objects.filter(actor_id=consumer, currency="USDC").exists():
        threshold_set(actor_id=consumer, currency="USDC", amount=parse_amount("1000", "USDC"))
        out("the consumer's dashboard warns below 1000 USDC available")
