"""OpenAPI operations for the registered methods (drf-spectacular), and the JSON Schema of a
method's params and result for web3.capabilities.describe, resolved from the same document so the
two can never disagree.

Every params object is mapped by ParamsExtension: closed (`additionalProperties: false`), each
string stating what DRF refuses of it (NUL; blank), and the keywords its fields and class declare in
`json_schema` (web3api.serializers) for the rules the server checks beyond a field's type: cross-field
rules, formats, enums from settings, amounts per currency scale. The keywords are those OpenAPI 3.0
and every JSON Schema draft share (anyOf/oneOf/not/allOf rather than if-then or dependentRequired),
so describe's paramsSchema is the request body's schema with references resolved and OpenAPI's
`nullable` written as a null type."""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers

from market.errors import CODES
from web3api.errors import HTTP_STATUS, REQUEST_REFUSALS, RETRY_AFTER_CODES, statuses
from web3api.money import money_rules
from web3api.registry import Method
from web3api.serializers import string_pattern


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=CODES, help_text="Stable, machine-parseable code.")
    message = serializers.CharField(help_text="Human text; never a secret or a stack trace.")
    details = serializers.DictField(
        help_text="Structured detail, by the error. `fields`: param -> message (E_INVALID_ARGUMENT; dotted inside "
        "a nested object). `retryAfterSec`: seconds to wait, as Retry-After (429, 503). `correlationId`: the only "
        "detail of E_INTERNAL. `header` and `signIn`: the header to send and the methods that give a token "
        "(E_AUTH_REQUIRED). `maxDepth`, `maxBytes`, `contentType` and `accepted`: the limit or media type a body "
        "(or a provider's answer) broke. `allowed`: the HTTP methods allowed (405). `status` and `verb`: an object's "
        "state that does not allow the call. `expiresAt`, `deliverBy`, `reviewDeadline`, `disputeDeadline`, "
        "`appealDeadline`: the deadline that passed. `available`, `requested`, `remaining`, `required`: amounts "
        "(insufficient funds or budget). `limit`, `periodSec`, `maxConcurrent`: the quota reached. `reason`: a "
        "machine word (e.g. idempotency_key_mismatch). `policy`: the resource policy that refused. "
        "`providerStatus`: the provider's HTTP status. `constraint`: the database constraint of an E_CONFLICT. "
        "`usageRef` and `units`: appended usage that conflicts."
    )


class ErrorEnvelopeSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="Always false.")
    error = ErrorDetailSerializer()


def pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]", name) if part)


# Answers of the web server (openclaw/gunicorn.conf.py), sent before the market sees the request:
# not envelopes. Every documented GET param fits the request line at its maximum length.
_SERVER_ANSWERS = {
    414: OpenApiResponse(
        description="Sent by the web server, not an envelope: the request line is over 8190 bytes (limit_request_line)."
    ),
    431: OpenApiResponse(
        description="Sent by the web server, not an envelope: a header line is over 8190 "
        "bytes, or there are over 100 headers (limit_request_field_size, limit_request_fields)."
    ),
}


# Sent with the answers that say when to try again (details.retryAfterSec, the same number).
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=sorted({HTTP_STATUS[code] for code in RETRY_AFTER_CODES}),
    description="Seconds to wait before trying again, as details.retryAfterSec.",
)


@functools.cache
def _envelope(method: Method) -> serializers.Serializer:
    return inline_serializer(
        name=f"{pascal(method.name)}Response",
        fields={"ok": serializers.BooleanField(help_text="Always true."), "result": method.result()},
    )


def _responses(method: Method, *, for_get: bool) -> dict[int, Any]:
    envelope = _envelope(method)
    responses: dict[int, Any] = {200: envelope}
    for code in method.errors:
        for status in statuses(code):
            if for_get and status in REQUEST_REFUSALS:  # a refused verb or body: not a GET's
                continue
            responses[status] = ErrorEnvelopeSerializer
    if not method.read_only:
        responses[405] = ErrorEnvelopeSerializer
    responses[431] = _SERVER_ANSWERS[431]
    if for_get:
        responses[414] = _SERVER_ANSWERS[414]
    return dict(sorted(responses.items()))


def _description(method: Method) -> str:
    parts = [method.description or method.summary, f"\n\nAuth: `{method.auth}`. Risk: {method.risk}."]
    if method.permissions:
        parts.append(" Permissions: " + "; ".join(method.permissions) + ".")
    parts.append(" Errors: " + ", ".join(f"`{c}`" for c in method.errors) + ".")
    rules = method.param_rules
    if rules:
        parts.append(
            "\n\nRules no schema states (a schema-valid call breaking one is refused, `details.fields` naming "
            "only these): " + "; ".join(f"`{param}`: {why}" for param, why in rules.items()) + "."
        )
    return "".join(parts)


def _security(method: Method) -> list[dict[str, list]]:
    """An operation's security, from the method's auth level rather than the view's
    authentication classes: API clients send the bearer token (SPECTACULAR_SETTINGS' SECURITY);
    the session cookie is the console's own way in."""
    return [] if method.auth == "none" else list(spectacular_settings.SECURITY)


def decorate(view_class: type, method: Method) -> type:
    """Attach the method's OpenAPI operations to its view class."""
    tags = [method.group]
    post = extend_schema(
        operation_id=method.name,
        summary=method.summary,
        description=_description(method),
        request=method.params,
        responses=_responses(method, for_get=False),
        tags=tags,
        parameters=[RETRY_AFTER],
        auth=_security(method),
    )
    ops = {"post": post}
    if method.read_only:
        ops["get"] = extend_schema(
            operation_id=f"{method.name}:get",
            summary=method.summary,
            description=_description(method),
            parameters=[method.params, RETRY_AFTER] if method.params().fields else [RETRY_AFTER],
            request=None,
            responses=_responses(method, for_get=True),
            tags=tags,
            auth=_security(method),
        )
    return extend_schema_view(**ops)(view_class)


@functools.lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _deref(node: Any, components: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name in seen:
                return {"type": "object", "description": f"recursive {name}"}
            target = _deref(copy.deepcopy(components[name]), components, (*seen, name))
            extra = {k: v for k, v in node.items() if k != "$ref"}
            return {**target, **extra}
        return {k: _deref(v, components, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [_deref(v, components, seen) for v in node]
    return node


def _nullable_as_type(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` as JSON Schema says it: null among the types."""
    if isinstance(node, list):
        return [_nullable_as_type(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: _nullable_as_type(v) for k, v in node.items()}
    if node.pop("nullable", False) is True:
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            outer = {k: node.pop(k) for k in ("description", "default", "title") if k in node}
            node = {"anyOf": [node, {"type": "null"}], **outer}
    return node


as_json_schema = _nullable_as_type


def method_schemas(method: Method) -> tuple[dict[str, Any], dict[str, Any]]:
    """(paramsSchema, returns) as self-contained JSON Schema objects."""
    doc = openapi_document()
    components = doc.get("components", {}).get("schemas", {})
    op = doc["paths"][f"/api/v1/{method.name}"]["post"]
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if body:
        params = _nullable_as_type(_deref(body, components))
    else:  # no params: the gateway refuses any name
        params = {"type": "object", "properties": {}, "additionalProperties": False}
    ok = op["responses"]["200"]["content"]["application/json"]["schema"]
    envelope = _deref(ok, components)
    returns = envelope.get("properties", {}).get("result", {})
    return params, returns


class KeyedResultExtension(OpenApiSerializerExtension):
    target_class = "web3api.serializers.KeyedResult"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        target = self.target if isinstance(self.target, type) else type(self.target)
        child = auto_schema.resolve_serializer(target.child, direction).ref
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = child
        schema["description"] = "Keyed by currency code; each value as described."
        return schema


def _evaluated(value: Any) -> Any:
    return value() if callable(value) else value


def _add_keywords(schema: dict[str, Any], keywords: dict[str, Any] | None) -> None:
    for key, value in (keywords or {}).items():
        if value is None:
            schema.pop(key, None)
        elif key == "allOf":
            schema["allOf"] = [*schema.get("allOf", []), *_evaluated(value)]
        else:
            schema[key] = _evaluated(value)


def _field_keywords(field: serializers.Field, prop: dict[str, Any]) -> None:
    if "$ref" in prop or "allOf" in prop:
        return  # a nested params object: mapped by this extension on its own
    if (
        isinstance(field, serializers.CharField)
        and prop.get("type") == "string"
        and not ({"enum", "pattern", "format"} & set(prop))
    ):
        pattern = string_pattern(field)
        if pattern:
            prop["pattern"] = pattern
    if isinstance(field, serializers.ListField) and isinstance(prop.get("items"), dict):
        _field_keywords(field.child, prop["items"])
    if isinstance(field, serializers.ListSerializer) and prop.get("type") == "array":
        # A list of params objects (artifacts, events): drf-spectacular leaves out its length bounds.
        for keyword, bound in (("minItems", field.min_length), ("maxItems", field.max_length)):
            if bound is not None:
                prop.setdefault(keyword, bound)
    _add_keywords(prop, getattr(field, "json_schema", None))


class ParamsExtension(OpenApiSerializerExtension):
    target_class = "web3api.serializers.Params"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        serializer = self.target() if isinstance(self.target, type) else self.target
        schema = auto_schema._map_basic_serializer(serializer, direction)
        if not vars(type(serializer)).get("__doc__"):
            schema.pop("description", None)  # not Params' own docstring, inherited
        if direction != "request":
            return schema  # a params object shown in a result (a resource's pricing) is just its fields
        properties = schema.get("properties", {})
        for name, field in serializer.fields.items():
            if name in properties:
                _field_keywords(field, properties[name])
        schema.setdefault("properties", {})
        schema["additionalProperties"] = False
        rules = money_rules(serializer)
        _add_keywords(schema, {"allOf": rules} if rules else None)
        _add_keywords(schema, _evaluated(type(serializer).json_schema))
        return schema
