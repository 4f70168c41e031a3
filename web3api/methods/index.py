"""web3.index.report|list|health|reputation, and the `resources` part of web3.status.summary."""

from rest_framework import serializers

from market.health import HEALTH_STATES
from market.selectors import index as index_selectors
from market.selectors import resources as resource_selectors
from market.services import index as index_service
from market.services.index import MAX_SKEW_SEC
from web3api import status
from web3api.methods.resources import DiscoverParams, PricingSerializer
from web3api.pagination import paginate
from web3api.registry import method
from web3api.serializers import (
    SIGNATURE_PATTERN,
    Params,
    StrictRegexField,
    actor_id_field,
    id_field,
    with_schema,
)
from web3api.shapes.index import HealthResult, IndexListResult, ReportResult, ReputationSerializer
from web3api.shapes.resources import PER_CHOICES

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

    def validate(self, attrs):
        return attrs  # signed text, compared with the resource's as it is: no amount to parse


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


@method(
    name="web3.index.report",
    summary="A provider reports a signed index entry for its resource.",
    group="index",
    params=ReportParams,
    result=ReportResult,
    permissions=["the resource's provider"],
    errors=["E_NOT_FOUND", "E_AUTH_REQUIRED"],
    unexpressible={
        "entry.resourceId": "must equal `resourceId`: no keyword compares two values",
        "entry.reportedAt": "within 300 s of the market's clock",
        "entry.pricing": "must be the resource's current pricing (its state)",
    },
    description="Wrong signer: E_AUTH_REQUIRED; reportedAt more than 300 s off, or pricing other than the "
    "resource's: E_INVALID_ARGUMENT. The entry's pricing is the resource's {unit, unitPrice, currency}, with or "
    "without the `per` that outputs show.",
)
def report(call, params):
    return index_service.index_report(
        resource_id=params["resourceId"], actor_id=call.actor_id, entry=params["entry"], signature=params["signature"]
    )


class IndexListParams(DiscoverParams):
    health = serializers.ChoiceField(
        choices=HEALTH_STATES,
        required=False,
        help_text="Only resources in this health now (as each item's `health` shows it).",
    )


@method(
    name="web3.index.list",
    summary="Discoverable resources with price, freshness, health and reputation.",
    group="index",
    read_only=True,
    params=IndexListParams,
    result=IndexListResult,
)
def index_list(call, params):
    filters = {k: params.get(k) for k in ("kind", "providerActorId", "currency", "maxUnitPrice", "tag", "health")}
    qs = index_selectors.index_resources(filters)
    page = paginate(qs, params, key_copies=index_selectors.index_key_copies(filters))
    return {**page, "items": index_selectors.index_entries(page["items"])}


class HealthParams(Params):
    resourceId = id_field("resource", help_text="Id of the resource (res_...).")


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
    return index_selectors.resource_health(r)


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
    return index_selectors.provider_reputation(params["actorId"])


@status.part("resources")
def _resources_part() -> tuple[str, str]:
    supply = resource_selectors.resource_supply()
    state = "degraded" if supply.overdue_leases else "ok"
    note = f"; {supply.overdue_leases} leases overdue for the expiry sweep" if supply.overdue_leases else ""
    return state, f"{supply.published} published resources, {supply.active_leases} active leases{note}"
