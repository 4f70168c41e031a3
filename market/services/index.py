"""The resource index: a provider reports a signed entry {resourceId, pricing, tags, reportedAt}.

The signature is an EIP-191 personal_sign, by the provider's wallet, of the exact string
`sha256:<hex of the RFC 8785 entry>`. A report is refused when the signer is not the provider
(E_AUTH_REQUIRED), when reportedAt is more than MAX_SKEW_SEC from the market's clock, or when it
claims a price other than the one the market charges (E_INVALID_ARGUMENT).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from market.audit.log import audit_record
from market.canonical import canonical_text
from market.errors import Forbidden, InvalidArgument, NotFound
from market.hashing import object_hash, signed_pricing, verify_signature
from market.ids import new_id
from market.models import IndexReport, Resource
from market.services.standing import standing_record_report

MAX_SKEW_SEC = 300


def _parse_time(text: Any) -> datetime:
    if not isinstance(text, str):
        raise InvalidArgument.field("entry.reportedAt", "must be an ISO-8601 time")
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument.field("entry.reportedAt", "must be an ISO-8601 time") from None
    if value.tzinfo is None:
        raise InvalidArgument.field("entry.reportedAt", "must carry a time zone (use Z)")
    return value


def _is_resource_pricing(pricing: Any, resource: Resource) -> bool:
    """The resource's pricing as supplied, or as outputs show it (with the derived `per`), so a
    provider may copy either into its entry."""
    supplied = signed_pricing(resource)
    return pricing in (supplied, {**supplied, "per": resource.per_units})


def index_report(*, resource_id: str, actor_id: str, entry: dict[str, Any], signature: str) -> IndexReport:
    if set(entry) != {"resourceId", "pricing", "tags", "reportedAt"}:
        raise InvalidArgument.field("entry", "must have exactly resourceId, pricing, tags, reportedAt")
    if entry["resourceId"] != resource_id:
        raise InvalidArgument.field("entry.resourceId", "must equal resourceId")
    reported_at = _parse_time(entry["reportedAt"])
    if abs((timezone.now() - reported_at).total_seconds()) > MAX_SKEW_SEC:
        raise InvalidArgument.field("entry.reportedAt", f"is more than {MAX_SKEW_SEC} s from the market's clock")
    with transaction.atomic():
        resource = Resource.objects.filter(resource_id=resource_id).first()
        if resource is None:
            raise NotFound("no such resource")
        if resource.provider_actor_id != actor_id:
            raise Forbidden("only the resource's provider reports it to the index")
        digest = object_hash(entry)
        verify_signature(message=digest, signature=signature, actor_id=resource.provider_actor_id)
        if not _is_resource_pricing(entry["pricing"], resource):
            raise InvalidArgument.field("entry.pricing", "differs from the resource's pricing")
        tags = entry["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise InvalidArgument.field("entry.tags", "must be a list of strings")
        report = IndexReport.objects.create(
            report_id=new_id("idx"),
            resource=resource,
            provider_actor_id=actor_id,
            entry=canonical_text(entry),
            entry_hash=digest,
            signature=signature,
            reported_at=reported_at,
        )
        audit_record(
            actor_id=actor_id,
            action="index.report",
            object_type="resource",
            object_id=resource_id,
            payload={"reportId": report.report_id, "entryHash": digest, "reportedAt": entry["reportedAt"]},
            parties=[actor_id],
        )
        standing_record_report(resource_pk=resource.pk, reported_at=reported_at)
        return report
