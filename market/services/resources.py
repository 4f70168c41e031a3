"""Resource services: publish, update, unpublish.

Endpoint and access token are sealed here (market.secrets.seal) and never returned or audited;
the resource's hash covers its public, client-supplied fields only.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from market import locks, states
from market.audit.log import audit_record
from market.errors import Forbidden, InvalidArgument, NotFound
from market.hashing import object_hash, signed_pricing
from market.ids import new_id
from market.models import Resource
from market.models.resources import UNITS_BY_KIND
from market.money import scale_of
from market.outbound import check_endpoint_syntax
from market.secrets import seal

POLICY_DEFAULTS = {"maxConcurrent": 4, "maxTokens": None, "allowTools": False, "maxBytes": None, "allowMime": []}


def resource_hash(r: Resource) -> str:
    return object_hash(
        {
            "resourceId": r.resource_id,
            "kind": r.kind,
            "name": r.name,
            "description": r.description,
            "backend": r.backend,
            "pricing": signed_pricing(r),
            "policy": r.policy,
            "tags": r.tags,
        }
    )


def _pricing(kind: str, pricing: dict[str, Any]) -> tuple[str, int, str]:
    """(unit, unit_price, currency) of a pricing {unit, unitPrice (minor units), currency}."""
    unit, price, currency = pricing["unit"], pricing["unitPrice"], pricing["currency"]
    scale_of(currency, field="pricing.currency")
    if unit not in UNITS_BY_KIND[kind]:
        allowed = " or ".join(UNITS_BY_KIND[kind])
        raise InvalidArgument.field("pricing.unit", f"a {kind} resource is priced per {allowed}")
    if price < 0:
        raise InvalidArgument.field("pricing.unitPrice", "must not be negative")
    return unit, price, currency


def _policy(policy: dict[str, Any] | None, base: dict[str, Any] | None = None) -> dict[str, Any]:
    out = dict(base or POLICY_DEFAULTS)
    out.update({k: v for k, v in (policy or {}).items()})
    out["allowMime"] = sorted(set(out.get("allowMime") or []))
    return out


def _tags(tags: list[str] | None) -> tuple[list[str], str]:
    clean = sorted({t.strip().lower() for t in tags or [] if t.strip()})
    return clean, ("," + ",".join(clean) + ",") if clean else ""


def _payload(r: Resource) -> dict[str, Any]:
    return {
        "name": r.name,
        "kind": r.kind,
        "backend": r.backend,
        "status": r.status,
        "pricing": signed_pricing(r),
        "policy": r.policy,
        "tags": r.tags,
        "hash": r.hash,
    }


def resource_publish(
    *,
    provider_actor_id: str,
    kind: str,
    name: str,
    backend: str,
    endpoint: str,
    pricing: dict[str, Any],  # {unit, unitPrice: minor units, currency}
    description: str = "",
    access_token: str = "",
    policy: dict[str, Any] | None = None,
    tags: list[str] | None = None,
) -> Resource:
    check_endpoint_syntax(endpoint)
    unit, price, currency = _pricing(kind, pricing)
    tag_list, tags_text = _tags(tags)
    with transaction.atomic():
        r = Resource(
            resource_id=new_id("res"),
            provider_actor_id=provider_actor_id,
            kind=kind,
            name=name,
            description=description,
            backend=backend,
            endpoint_sealed=seal(endpoint),
            access_token_sealed=seal(access_token),
            unit=unit,
            unit_price=price,
            currency=currency,
            policy=_policy(policy),
            tags=tag_list,
            tags_text=tags_text,
        )
        r.hash = resource_hash(r)
        r.save()
        audit_record(
            actor_id=provider_actor_id,
            action="resource.publish",
            object_type="resource",
            object_id=r.resource_id,
            payload=_payload(r),
            parties=[provider_actor_id],
        )
        return r


def _lock_own_resource(resource_id: str, actor_id: str) -> Resource:
    r = locks.lock_resource(resource_id=resource_id)
    if r is None:
        raise NotFound("no such resource")
    if r.provider_actor_id != actor_id:
        raise Forbidden("only the resource's provider may change it")
    return r


def resource_update(*, resource_id: str, actor_id: str, changes: dict[str, Any]) -> Resource:
    """Change description, pricing (for new leases; unitPrice in minor units), policy, tags; rotate
    endpoint and token."""
    with transaction.atomic():
        r = _lock_own_resource(resource_id, actor_id)
        fields = []
        rotated = []
        if "description" in changes:
            r.description = changes["description"]
            fields.append("description")
        if "pricing" in changes:
            r.unit, r.unit_price, r.currency = _pricing(r.kind, changes["pricing"])
            fields += ["unit", "unit_price", "currency"]
        if "policy" in changes:
            r.policy = _policy(changes["policy"], base=r.policy)
            fields.append("policy")
        if "tags" in changes:
            r.tags, r.tags_text = _tags(changes["tags"])
            fields += ["tags", "tags_text"]
        if "endpoint" in changes:
            check_endpoint_syntax(changes["endpoint"])
            r.endpoint_sealed = seal(changes["endpoint"])
            fields.append("endpoint_sealed")
            rotated.append("endpoint")
        if "accessToken" in changes:
            r.access_token_sealed = seal(changes["accessToken"])
            fields.append("access_token_sealed")
            rotated.append("accessToken")
        r.hash = resource_hash(r)
        r.save(update_fields=[*fields, "hash", "updated_at"])
        audit_record(
            actor_id=actor_id,
            action="resource.update",
            object_type="resource",
            object_id=r.resource_id,
            payload={**_payload(r), "rotated": rotated},
            parties=[r.provider_actor_id],
        )
        return r


def resource_unpublish(*, resource_id: str, actor_id: str) -> Resource:
    """No new leases; running leases continue until they end."""
    with transaction.atomic():
        r = _lock_own_resource(resource_id, actor_id)
        states.transition(r, "unpublish")
        audit_record(
            actor_id=actor_id,
            action="resource.unpublish",
            object_type="resource",
            object_id=r.resource_id,
            payload=_payload(r),
            parties=[r.provider_actor_id],
        )
        return r
