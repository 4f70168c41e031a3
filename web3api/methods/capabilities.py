"""web3.capabilities.*: the market describes itself, generated from the registry."""

from django.conf import settings
from rest_framework import serializers

from market.errors import NotFound
from web3api import registry, schema
from web3api.registry import method
from web3api.serializers import Params


def _availability(m: registry.Method) -> dict:
    if m.enabled:
        return {"enabled": True}
    return {"enabled": False, "reason": "disabled by the operator (WEB3_DISABLED_METHODS)"}


def _entry(m: registry.Method) -> dict:
    return {
        "name": m.name,
        "summary": m.summary,
        "group": m.group,
        "readOnly": m.read_only,
        "auth": m.auth,
        "availability": _availability(m),
    }


class AvailabilitySerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    reason = serializers.CharField(required=False, help_text="Why the method is off.")


class CapabilityEntrySerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Method name, e.g. web3.market.publishTask.")
    summary = serializers.CharField()
    group = serializers.CharField()
    readOnly = serializers.BooleanField(help_text="True: also answers GET, changes nothing.")
    auth = serializers.ChoiceField(choices=registry.AUTH_LEVELS)
    availability = AvailabilitySerializer()


class CapabilitiesListParams(Params):
    group = serializers.RegexField(
        r"^[a-z][a-zA-Z]*$",
        max_length=40,
        required=False,
        help_text="Only methods of this group (the part after `web3.`), e.g. `market`.",
    )


class CapabilitiesListResult(serializers.Serializer):
    items = CapabilityEntrySerializer(many=True)


@method(
    name="web3.capabilities.list",
    summary="List every method this market offers.",
    group="capabilities",
    read_only=True,
    auth="none",
    params=CapabilitiesListParams,
    result=CapabilitiesListResult,
    risk="none",
    examples=[{"params": {"group": "market"}}],
)
def capabilities_list(call, params):
    group = params.get("group")
    return {"items": [_entry(m) for m in registry.all_methods() if not group or m.group == group]}


class CapabilitiesDescribeParams(Params):
    name = serializers.RegexField(
        r"^web3\.[a-zA-Z]+\.[a-zA-Z]+$",
        max_length=100,
        help_text="A method name from web3.capabilities.list.",
    )


class HintsSerializer(serializers.Serializer):
    readOnly = serializers.BooleanField(help_text="It changes nothing.")
    destructive = serializers.BooleanField(
        help_text="It moves money or ends an object (revoke, unpublish, cancel, withdraw, a ruling, logout)."
    )
    idempotent = serializers.BooleanField(
        help_text="Calling it again with the same params has no further effect, even without an Idempotency-Key."
    )


class CapabilitiesDescribeResult(CapabilityEntrySerializer):
    stability = serializers.ChoiceField(choices=["experimental", "stable", "deprecated"])
    description = serializers.CharField()
    paramsSchema = serializers.DictField(help_text="JSON Schema of the params object.")
    paramRules = serializers.DictField(
        child=serializers.CharField(),
        help_text="The rules of the params that no JSON Schema can state (an opaque cursor, a signature, a "
        "digest, a value compared with another or with the state of an object), by param (dotted inside a "
        "nested object), each with why. Params that satisfy paramsSchema are refused with E_INVALID_ARGUMENT "
        "only for these, and details.fields then names only params listed here (the description says where "
        "another code is used).",
    )
    permissions = serializers.ListField(child=serializers.CharField())
    risk = serializers.ChoiceField(choices=registry.RISK_LEVELS)
    rateLimit = serializers.CharField(help_text="Calls per period per caller, e.g. 600/m.")
    pricing = serializers.DictField(help_text="What calling the method costs.")
    prerequisites = serializers.ListField(child=serializers.CharField())
    returns = serializers.DictField(help_text="JSON Schema of `result`.")
    errors = serializers.ListField(child=serializers.CharField(), help_text="Codes it may return.")
    examples = serializers.ListField(child=serializers.DictField())
    hints = HintsSerializer()
    hashFields = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Fields hashed into the object's `hash` (RFC 8785 JSON of these plus its id).",
    )


@method(
    name="web3.capabilities.describe",
    summary="Everything needed to call one method: params schema, permissions, risk, cost, errors.",
    group="capabilities",
    read_only=True,
    auth="none",
    params=CapabilitiesDescribeParams,
    result=CapabilitiesDescribeResult,
    risk="none",
    errors=["E_NOT_FOUND"],
    examples=[{"params": {"name": "web3.siwe.challenge"}}],
)
def capabilities_describe(call, params):
    m = registry.get(params["name"])
    if m is None:
        raise NotFound(f"no method named {params['name']}")
    params_schema, returns = schema.method_schemas(m)
    out = {
        **_entry(m),
        "stability": m.stability,
        "description": m.description or m.summary,
        "paramsSchema": params_schema,
        "paramRules": m.param_rules,
        "permissions": m.permissions or ([] if m.auth == "none" else [f"auth: {m.auth}"]),
        "risk": m.risk,
        "rateLimit": settings.WEB3_RATE_LIMITS.get(m.name) or m.rate_limit or settings.WEB3_DEFAULT_RATE_LIMIT,
        "pricing": m.pricing,
        "prerequisites": m.prerequisites,
        "returns": returns,
        "errors": m.errors,
        "examples": m.examples,
        "hints": m.hints,
    }
    if m.hash_fields is not None:
        out["hashFields"] = m.hash_fields
    return out
