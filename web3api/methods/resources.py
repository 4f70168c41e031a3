"""web3.resources.publish|update|unpublish|get|list|invoke."""

from rest_framework import serializers

from market.errors import Forbidden
from market.hashing import RESOURCE_HASH_FIELDS as HASH_FIELDS
from market.models import Resource
from market.models.resources import UNITS_BY_KIND
from market.selectors import resources as selectors
from market.services import invoke as invoke_service
from market.services import resources as services
from market.services import session_invoke
from web3api.money import amounts_to_minor, currency_field, money_field, price_ceilings
from web3api.pagination import paginate
from web3api.registry import method
from web3api.serializers import (
    Params,
    StrictCharField,
    actor_id_field,
    cursor_field,
    id_field,
    limit_field,
    with_schema,
)
from web3api.shapes.leases import InvokeResult
from web3api.shapes.resources import ResourceListResult, ResourceSerializer

KINDS = Resource.Kind.values
BACKENDS = Resource.Backend.values
TAG = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"
# An http(s) URL with a host, as RFC 3986 spells it in ASCII: no credentials, no fragment, a port of
# 1-65535, every '%' starting a %XX escape. The market's own check (market.outbound.
# check_endpoint_syntax) accepts all of these.
_PORT = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_ESCAPE = r"%[0-9A-Fa-f]{2}"
ENDPOINT = (
    rf"^https?://(?:[A-Za-z0-9._~!$&'()*+,;=-]|{_ESCAPE})+(?::{_PORT})?"
    rf"(?:[/?](?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|{_ESCAPE})*)?$"
)
ENDPOINT_HELP = (
    "an http(s) URL with a host, without credentials or a fragment. Unless the operator allows "
    "private endpoints, a host that is (or, when called, resolves to) a loopback, private, "
    "link-local or metadata address is refused."
)


def endpoint_field(help_text: str, **kwargs) -> StrictCharField:
    return with_schema(
        StrictCharField(max_length=2000, help_text=f"{help_text} It is {ENDPOINT_HELP}", **kwargs),
        format="uri",
        pattern=ENDPOINT,
    )


class PricingSerializer(Params):
    unit = serializers.ChoiceField(
        choices=Resource.Unit.values,
        help_text="model: token|call; search: query|call; storage: byte|call.",
    )
    unitPrice = money_field(
        "Price per unit (call, query) or per 1,000,000 units (token, byte).", positive=False, currency="currency"
    )
    currency = currency_field()

    def validate(self, attrs):
        return amounts_to_minor(self, attrs)


class PolicySerializer(Params):
    maxConcurrent = serializers.IntegerField(
        min_value=1, max_value=1000, required=False, help_text="Calls one lease may have running at once (default 4)."
    )
    maxTokens = serializers.IntegerField(
        min_value=1,
        max_value=10_000_000,
        required=False,
        allow_null=True,
        help_text="Cap on max_tokens per openai-compat call.",
    )
    allowTools = serializers.BooleanField(required=False, help_text="Whether calls may pass tools (default false).")
    maxBytes = serializers.IntegerField(
        min_value=1,
        max_value=1024 * 1024,
        required=False,
        allow_null=True,
        help_text="Cap on a call's input (and a blob's size) in bytes.",
    )
    allowMime = serializers.ListField(
        child=serializers.RegexField(r"^[a-z0-9.+-]+/([a-z0-9.+-]+|\*)$", max_length=100),
        required=False,
        max_length=20,
        help_text="Content types a blob may have (empty: any).",
    )


def _tags_field(**kwargs):
    return serializers.ListField(
        child=serializers.RegexField(TAG, max_length=40),
        max_length=20,
        help_text="Lowercase tags for discovery.",
        **kwargs,
    )


class PublishParams(Params):
    kind = serializers.ChoiceField(choices=KINDS)
    name = StrictCharField(max_length=120)
    description = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")
    backend = serializers.ChoiceField(choices=BACKENDS)
    endpoint = endpoint_field("The URL the market calls; stored encrypted, never shown again.")
    accessToken = StrictCharField(
        max_length=4000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Sent to the provider as a bearer token; stored encrypted.",
    )
    pricing = PricingSerializer(help_text="Its unit is one the kind allows.")
    policy = PolicySerializer(required=False)
    tags = _tags_field(required=False, default=list)

    json_schema = {
        "anyOf": [
            {"properties": {"kind": {"enum": [kind]}, "pricing": {"properties": {"unit": {"enum": list(units)}}}}}
            for kind, units in UNITS_BY_KIND.items()
        ]
    }


@method(
    name="web3.resources.publish",
    summary="Publish a resource (model, search or storage endpoint) for lease.",
    group="resources",
    params=PublishParams,
    result=ResourceSerializer,
    hash_fields=HASH_FIELDS,
    risk="medium",
    permissions=["any actor; it becomes the resource's provider"],
    description="The endpoint and accessToken are encrypted at rest and reachable only through "
    "web3.resources.invoke on an active lease; no result, error or log shows them.",
    examples=[
        {
            "params": {
                "kind": "search",
                "name": "web search",
                "backend": "searxng",
                "endpoint": "https://search.example.com",
                "pricing": {"unit": "query", "unitPrice": "0.01", "currency": "USDC"},
                "tags": ["web"],
            }
        }
    ],
)
def publish(call, params):
    return services.resource_publish(
        provider_actor_id=call.actor_id,
        kind=params["kind"],
        name=params["name"],
        backend=params["backend"],
        endpoint=params["endpoint"],
        pricing=params["pricing"],
        description=params["description"],
        access_token=params["accessToken"],
        policy=params.get("policy"),
        tags=params["tags"],
    )


class UpdateParams(Params):
    resourceId = id_field("resource", help_text="Id of the resource (res_...).")
    description = StrictCharField(max_length=2000, required=False, allow_blank=True)
    pricing = PricingSerializer(
        required=False,
        help_text="Applies to new leases only. Its unit must be one the "
        "resource's kind allows (model: token|call; search: query|call; storage: byte|call).",
    )
    policy = PolicySerializer(required=False, help_text="Merged into the current policy.")
    tags = _tags_field(required=False)
    endpoint = endpoint_field("Rotate the endpoint.", required=False)
    accessToken = StrictCharField(max_length=4000, required=False, allow_blank=True, help_text="Rotate the token.")


@method(
    name="web3.resources.update",
    idempotent=True,
    summary="Change a resource's description, pricing, policy, tags or secrets.",
    group="resources",
    params=UpdateParams,
    result=ResourceSerializer,
    hash_fields=HASH_FIELDS,
    risk="medium",
    permissions=["the resource's provider"],
    errors=["E_NOT_FOUND"],
    unexpressible={"pricing.unit": "a unit the resource's kind allows (the kind is the resource's state)"},
)
def update(call, params):
    changes = {k: v for k, v in params.items() if k != "resourceId"}
    return services.resource_update(resource_id=params["resourceId"], actor_id=call.actor_id, changes=changes)


class ResourceIdParams(Params):
    resourceId = id_field("resource", help_text="Id of the resource (res_...).")


@method(
    name="web3.resources.unpublish",
    ends_object=True,
    idempotent=True,
    summary="Stop new leases of a resource; running leases continue.",
    group="resources",
    params=ResourceIdParams,
    result=ResourceSerializer,
    hash_fields=HASH_FIELDS,
    permissions=["the resource's provider"],
    errors=["E_NOT_FOUND", "E_CONFLICT"],
)
def unpublish(call, params):
    return services.resource_unpublish(resource_id=params["resourceId"], actor_id=call.actor_id)


@method(
    name="web3.resources.get",
    summary="One resource (never its endpoint or token).",
    group="resources",
    read_only=True,
    params=ResourceIdParams,
    result=ResourceSerializer,
    hash_fields=HASH_FIELDS,
    permissions=["any actor (an unpublished resource shows its status)"],
    errors=["E_NOT_FOUND"],
)
def get(call, params):
    return selectors.resource_get(resource_id=params["resourceId"], actor_id=call.actor_id, is_staff=call.is_staff)


class DiscoverParams(Params):
    """The filters web3.resources.list and web3.index.list share; each is served by an index and
    read newest first by keyset (the cursor is the last row's id)."""

    kind = serializers.ChoiceField(choices=KINDS, required=False)
    providerActorId = actor_id_field(required=False)
    currency = currency_field(required=False)
    maxUnitPrice = money_field(
        "Only resources whose unit price (as pricing.unitPrice shows it, per `per` units) is at or below this. "
        "With `currency`, a price in that currency (S is its scale). Without, it may have the scale of any "
        "configured currency and applies to each currency in its own scale: each resource's price is compared with "
        "it in the resource's currency, exactly (a ceiling with more decimals than a currency's scale matches that "
        "currency's prices at or below it: 0.015 matches 0.01 at scale 2).",
        positive=False,
        currency="currency",
        required=False,
    )
    tag = serializers.RegexField(TAG, max_length=40, required=False)
    limit = limit_field()
    cursor = cursor_field()

    def validate(self, attrs):
        attrs = dict(attrs)
        if "maxUnitPrice" in attrs:
            attrs["maxUnitPrice"] = price_ceilings(attrs["maxUnitPrice"], attrs.get("currency"), field="maxUnitPrice")
        return attrs


class ListParams(DiscoverParams):
    status = serializers.ChoiceField(
        choices=Resource.Status.values, required=False, help_text="Default resource_published."
    )


@method(
    name="web3.resources.list",
    summary="Discover resources, newest first.",
    group="resources",
    read_only=True,
    params=ListParams,
    result=ResourceListResult,
)
def list_(call, params):
    filters = {k: params.get(k) for k in ("kind", "providerActorId", "currency", "maxUnitPrice", "status", "tag")}
    qs = selectors.resource_list(actor_id=call.actor_id, filters=filters, is_staff=call.is_staff)
    return paginate(qs, params)


class InvokeParams(Params):
    leaseId = id_field("lease", required=False, help_text="Id of the lease (lease_...); or sessionId and resourceId.")
    sessionId = id_field(
        "session",
        required=False,
        help_text="Id of a session (ses_...), with resourceId instead of leaseId: the market issues or reuses the "
        "session's lease for the resource, and the call draws on the session's budget.",
    )
    resourceId = id_field("resource", required=False, help_text="With sessionId: the resource to call (res_...).")
    input = serializers.DictField(
        help_text="The body for the lease's backend, which the lease decides (so no "
        "schema here can say which; another shape is E_INVALID_ARGUMENT): openai-compat: "
        "a chat-completions body (non-empty messages, max_tokens a positive integer, ...); "
        "searxng: {q: 1-500 characters, categories?, language?}; http-blob: {op: put|get, "
        "sha256, contentBase64?}; custom: any JSON object."
    )

    def validate_input(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("must be a JSON object")
        return value

    json_schema = {
        "oneOf": [
            {"required": ["leaseId"], "not": {"anyOf": [{"required": ["sessionId"]}, {"required": ["resourceId"]}]}},
            {"required": ["sessionId", "resourceId"], "not": {"required": ["leaseId"]}},
        ]
    }

    def validate(self, attrs):
        by_lease, by_session = "leaseId" in attrs, "sessionId" in attrs or "resourceId" in attrs
        if by_lease == by_session or (by_session and not ("sessionId" in attrs and "resourceId" in attrs)):
            raise serializers.ValidationError({"leaseId": "give leaseId, or sessionId and resourceId"})
        return attrs


@method(
    name="web3.resources.invoke",
    summary="Call a leased resource through the market; usage is charged to the lease.",
    moves_money=True,
    group="resources",
    params=InvokeParams,
    result=InvokeResult,
    atomic=False,
    risk="medium",
    permissions=["the lease's consumer (its provider: E_FORBIDDEN; others: E_NOT_FOUND)"],
    pricing={
        "model": "lease",
        "detail": "billed units x the lease's unit price / per, rounded up; call/query = "
        "1 per call, token = the provider's reported usage (at most the reservation), byte = body size",
    },
    prerequisites=["an active lease (web3.leases.issue), or an open session (web3.sessions.open)"],
    errors=[
        "E_NOT_FOUND",
        "E_CONFLICT",
        "E_EXPIRED",
        "E_REVOKED",
        "E_INSUFFICIENT_FUNDS",
        "E_UNAVAILABLE",
        "E_TIMEOUT",
    ],
    unexpressible={"input": "the body the lease's backend takes, as the description says (the lease's state)"},
    description="Reserves the most the call can cost and refuses with E_INSUFFICIENT_FUNDS if the remaining "
    "budget cannot cover it; charges the actual usage after. Tokens: the reservation is a bound of the prompt, "
    "the UTF-8 byte length of `input` as compact JSON (every token covers at least one byte of the text), plus "
    "max_tokens (at most policy.maxTokens; default 4096), times the price. Billed units are the reported "
    "total_tokens, at most the reservation: a provider reporting more is paid the reservation, and usage shows "
    "both reportedUnits and billedUnits (so does the ledger entry); none reported bills the reservation. "
    "Provider down or 5xx, or an answer that is not JSON or nests deeper than WEB3_MAX_JSON_DEPTH (details.maxDepth): "
    "E_UNAVAILABLE; no answer in time: E_TIMEOUT; nothing is charged then. With sessionId and resourceId instead "
    "of leaseId, the call runs in the session: its lease for the resource is issued on first use and reused, the "
    "reservation is checked against the session's budget and the spend policy's caps (over one: E_QUOTA_EXCEEDED "
    "naming it in details.cap, nothing reserved), and the cost accrues to the provider's line of the session.",
)
def invoke(call, params):
    if "sessionId" in params:
        return session_invoke.session_invoke(
            session_id=params["sessionId"],
            resource_id=params["resourceId"],
            actor_id=call.actor_id,
            delegation_id=call.agent.delegation_id if call.agent is not None else "",
            input=params["input"],
        )
    if call.agent is not None:
        raise Forbidden("an agent token invokes through a session (sessionId and resourceId), within its policy")
    return invoke_service.invoke(lease_id=params["leaseId"], actor_id=call.actor_id, input=params["input"])
