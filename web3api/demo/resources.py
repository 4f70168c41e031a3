"""Demo step: resources backed by the local demo provider (`manage.py demo_provider`), one
consumer lease, and a signed index report for each resource (renewed when the last is over 30
minutes old, so the index shows them fresh). Idempotent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct

from market.hashing import object_hash, signed_pricing
from market.models import Lease, Resource
from market.money import parse_amount
from market.services import index as index_service
from market.services import leases as lease_services
from market.services import resources as resource_services
from web3api.demo.provider import DEFAULT_PORT

DEMO_RESOURCES = [
    {
        "kind": "model",
        "name": "Demo chat model",
        "backend": "openai-compat",
        "path": "/v1",
        "pricing": {"unit": "token", "unitPrice": "2.00", "currency": "USDC"},
        "policy": {"maxTokens": 512},
        "tags": ["chat", "demo"],
        "description": "An openai-compat chat model that echoes you.",
    },
    {
        "kind": "search",
        "name": "Demo web search",
        "backend": "searxng",
        "path": "",
        "pricing": {"unit": "query", "unitPrice": "0.01", "currency": "USDC"},
        "tags": ["search", "demo"],
        "description": "A searxng-style search over a few demo pages.",
    },
]


def step_resources(wallets, out: Callable[[str], None]) -> None:
    from market.money import currencies

    if "USDC" not in currencies():
        out("demo resources skipped: they are priced in USDC, which WEB3_CURRENCIES does not list")
        return
    provider, consumer = wallets["provider"], wallets["consumer"]
    endpoint_base = f"http://localhost:{DEFAULT_PORT}"
    for spec in DEMO_RESOURCES:
        r = Resource.objects.filter(provider_actor_id=provider.address, name=spec["name"]).first()
        if r is None:
            r = resource_services.resource_publish(
                provider_actor_id=provider.address,
                kind=spec["kind"],
                name=spec["name"],
                backend=spec["backend"],
                endpoint=endpoint_base + spec["path"],
                pricing={**spec["pricing"], "unitPrice": parse_amount(spec["pricing"]["unitPrice"], "USDC")},
                description=spec["description"],
                policy=spec.get("policy"),
                tags=spec["tags"],
            )
            out(f"published resource {r.resource_id} ({spec['name']})")
        if r.index_reports.filter(reported_at__gte=timezone.now() - timedelta(minutes=30)).exists():
            continue  # reported recently: a re-run changes nothing
        entry = {
            "resourceId": r.resource_id,
            "pricing": signed_pricing(r),
            "tags": r.tags,
            "reportedAt": timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        signature = Account.from_key(provider.key).sign_message(encode_defunct(text=object_hash(entry))).signature
        index_service.index_report(
            resource_id=r.resource_id,
            actor_id=provider.address,
            entry=entry,
            signature="0x" + signature.hex().removeprefix("0x"),
        )
    model = Resource.objects.get(provider_actor_id=provider.address, name=DEMO_RESOURCES[0]["name"])
    if not Lease.objects.filter(
        resource=model, consumer_actor_id=consumer.address, status=Lease.Status.ACTIVE, expires_at__gt=timezone.now()
    ).exists():
        lease = lease_services.lease_issue(
            resource_id=model.resource_id,
            consumer_actor_id=consumer.address,
            max_cost=parse_amount("5", "USDC"),
            currency="USDC",
            max_cost_text="5",
            ttl_sec=7 * 24 * 3600,
        )
        out(f"consumer leased the demo model: {lease.lease_id}")
    allowed = settings.WEB3_ALLOW_PRIVATE_ENDPOINTS or DEFAULT_PORT in settings.WEB3_ALLOW_LOOPBACK_PORTS
    out(
        f"demo resources call a local provider on loopback port {DEFAULT_PORT} (scripts/run starts it; else "
        f"`manage.py demo_provider`); invoking needs WEB3_ALLOW_LOOPBACK_PORTS={DEFAULT_PORT}"
        + ("" if allowed else " (not set now)")
    )
