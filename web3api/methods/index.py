"""web3.index.report|list|health|reputation, and the `resources` part of web3.status.summary."""

from datetime import timedelta

from django.db.models import Count
from django.utils import timezone
from rest_framework import serializers

from market.money import format_amount
from market.selectors import index as index_selectors
from market.selectors import resources as resource_selectors
from market.services import index as index_service
from market.services.index import MAX_SKEW_SEC
from web3api import status
from web3api.methods.leases import PER_CHOICES, PricingOut, pricing_shape
from web3api.methods.resources import KINDS, TAG, PricingSerializer
from web3api.money import currency_field
from web3api.pagination import paginate
from web3api.registry import method
from web3api.serializers import (
    SIGNATURE_PATTERN,
    Params,
    StrictRegexField,
    actor_id_field,
    cursor_field,
    id_field,
    limit_field,
    with_schema,
)

HEALTH = ["healthy", "degraded", "stale"]
# What the index reads as a time (datetime.fromisoformat once Z is +00:00): RFC 3339 with an offset.
REPORTED_AT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-5][0-9](?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})$"


class IndexPricingParams(PricingSerializer):
    per = with_schema(
        serializers.IntegerField(
            required=False,
            min_value=1,
            max_value=max(PER_CHOICES),
            help_text="Optional, as outputs show it: 1 for call and query, 1000000 for token and byte; a `per` "
            "other than the unit's is E_INVALID_ARGUMENT.",
        ),
        enum=PER_CHOICES,
    )


class IndexEntryParams(Params):
    """The signed index entry. Taken exactly as sent once its shape is checked: the signature is
    over its RFC 8785 JSON, which trimming or parsing a member would change."""

    resourceId = serializers.CharField(
        max_length=40,
        trim_whitespace=False,
        help_text="Equal to the params' resourceId (no schema keyword compares two values).",
    )
    pricing = IndexPricingParams(
        help_text="The resource's pricing exactly as web3.resources.get shows it "
        "(unitPrice with all the currency's decimals); other pricing is E_INVALID_ARGUMENT."
    )
    tags = serializers.ListField(child=serializers.CharField(trim_whitespace=False, allow_blank=True))
    reportedAt = with_schema(
        StrictRegexField(
            REPORTED_AT,
            trim_whitespace=False,
            help_text=f"When the provider made the report: an RFC 3339 time with its "
            f"offset, within {MAX_SKEW_SEC} s of the market's clock.",
        ),
        format="date-time",
    )

    def to_internal_value(self, data):
        super().to_internal_value(data)
        return data


class ReportParams(Params):
    resourceId = id_field("resource", help_text="Id of the resource (res_...).")
    entry = IndexEntryParams(
        help_text="{resourceId, pricing: {unit, unitPrice, currency}, tags: [..], "
        "reportedAt}: what the provider signed."
    )
    signature = serializers.RegexField(
        SIGNATURE_PATTERN,
        help_text="EIP-191 personal_sign by the provider's wallet "
        "of the string sha256:<hex of the RFC 8785 entry>; no schema can check it.",
    )


class ReportResult(serializers.Serializer):
    reportId = serializers.CharField()
    resourceId = serializers.CharField()
    entryHash = serializers.CharField(help_text="The string that was signed.")
    reportedAt = serializers.DateTimeField()
    createdAt = serializers.DateTimeField()


@method(
    name="web3.index.report",
    summary="A provider reports a signed index entry for its resource.",
    group="index",
    params=ReportParams,
    result=ReportResult,
    permissions=["the resource's provider"],
    errors=["E_NOT_FOUND", "E_AUTH_REQUIRED"],
    description="Wrong signer: E_AUTH_REQUIRED; reportedAt more than 300 s off, or pricing other than the "
    "resource's: E_INVALID_ARGUMENT. The entry's pricing is the resource's {unit, unitPrice, currency}, with or "
    "without the `per` that outputs show.",
)
def report(call, params):
    r = index_service.index_report(
        resource_id=params["resourceId"], actor_id=call.actor_id, entry=params["entry"], signature=params["signature"]
    )
    return {
        "reportId": r.report_id,
        "resourceId": params["resourceId"],
        "entryHash": r.entry_hash,
        "reportedAt": r.reported_at,
        "createdAt": r.created_at,
    }


class ReputationSerializer(serializers.Serializer):
    actorId = serializers.CharField()
    score = serializers.IntegerField(help_text="0-100: invoke success rate x settled / (settled + 2).")
    settledLeases = serializers.IntegerField()
    usageVolume = serializers.DictField(child=serializers.CharField(), help_text="Per currency, usage charged.")
    invocations = serializers.IntegerField()
    failures = serializers.IntegerField()
    failureRate = serializers.FloatField()


def reputation_out(actor_id, rep) -> dict:
    return {"actorId": actor_id, **rep, "usageVolume": {c: format_amount(v, c) for c, v in rep["usageVolume"].items()}}


class IndexEntrySerializer(serializers.Serializer):
    resourceId = serializers.CharField()
    providerActorId = serializers.CharField()
    kind = serializers.CharField()
    name = serializers.CharField()
    backend = serializers.CharField()
    pricing = PricingOut()
    tags = serializers.ListField(child=serializers.CharField())
    lastReportedAt = serializers.DateTimeField(allow_null=True)
    freshnessSec = serializers.IntegerField(allow_null=True, help_text="Seconds since the newest signed report.")
    health = serializers.ChoiceField(choices=HEALTH)
    reputation = serializers.IntegerField(help_text="The provider's reputation score (0-100).")


class IndexListParams(Params):
    kind = serializers.ChoiceField(choices=KINDS, required=False)
    currency = currency_field(required=False)
    tag = serializers.RegexField(TAG, max_length=40, required=False)
    limit = limit_field()
    cursor = cursor_field()


class IndexListResult(serializers.Serializer):
    items = IndexEntrySerializer(many=True)
    nextCursor = serializers.CharField(allow_null=True)


@method(
    name="web3.index.list",
    summary="Discoverable resources with price, freshness, health and reputation.",
    group="index",
    read_only=True,
    params=IndexListParams,
    result=IndexListResult,
)
def index_list(call, params):
    qs = index_selectors.index_resources({k: params.get(k) for k in ("kind", "currency", "tag")})
    page = paginate(qs, params, lambda r: r)
    scores = {
        a: rep["score"] for a, rep in index_selectors.reputations({r.provider_actor_id for r in page["items"]}).items()
    }
    now = timezone.now()
    page["items"] = [
        {
            "resourceId": r.resource_id,
            "providerActorId": r.provider_actor_id,
            "kind": r.kind,
            "name": r.name,
            "backend": r.backend,
            "pricing": pricing_shape(r.unit, r.unit_price, r.currency),
            "tags": r.tags,
            "lastReportedAt": r.last_reported_at,
            "freshnessSec": int((now - r.last_reported_at).total_seconds()) if r.last_reported_at else None,
            "health": index_selectors.health_state(r.last_reported_at, r.recent_calls, r.recent_failures, now),
            "reputation": scores[r.provider_actor_id],
        }
        for r in page["items"]
    ]
    return page


class HealthParams(Params):
    resourceId = id_field("resource", help_text="Id of the resource (res_...).")


class HealthResult(serializers.Serializer):
    resourceId = serializers.CharField()
    status = serializers.ChoiceField(
        choices=HEALTH,
        help_text="stale: no signed report within 1 h; degraded: "
        "over 20% of at least 3 calls in the last hour failed; healthy otherwise.",
    )
    lastReportedAt = serializers.DateTimeField(allow_null=True)
    freshnessSec = serializers.IntegerField(allow_null=True)
    recentInvocations = serializers.IntegerField()
    recentFailures = serializers.IntegerField()


@method(
    name="web3.index.health",
    summary="A resource's health from report freshness and recent invoke success.",
    group="index",
    read_only=True,
    params=HealthParams,
    result=HealthResult,
    errors=["E_NOT_FOUND"],
)
def health(call, params):
    r = resource_selectors.resource_get(
        resource_id=params["resourceId"], actor_id=call.actor_id, is_staff=call.is_staff
    )
    return {"resourceId": r.resource_id, **index_selectors.resource_health(r)}


class ReputationParams(Params):
    actorId = actor_id_field()


@method(
    name="web3.index.reputation",
    summary="A provider's reputation from settled leases, usage and failures.",
    group="index",
    read_only=True,
    params=ReputationParams,
    result=ReputationSerializer,
)
def reputation(call, params):
    return reputation_out(params["actorId"], index_selectors.provider_reputation(params["actorId"]))


@status.part("resources")
def _resources_part() -> tuple[str, str]:
    from market.models import Lease, Resource

    published = Resource.objects.filter(status=Resource.Status.PUBLISHED).count()
    leases = dict(Lease.objects.values_list("status").annotate(n=Count("pk")))
    active = leases.get(Lease.Status.ACTIVE, 0)
    overdue = Lease.objects.filter(
        status=Lease.Status.ACTIVE, expires_at__lt=timezone.now() - timedelta(minutes=5)
    ).count()
    state = "degraded" if overdue else "ok"
    note = f"; {overdue} leases overdue for the expiry sweep" if overdue else ""
    return state, f"{published} published resources, {active} active leases{note}"
