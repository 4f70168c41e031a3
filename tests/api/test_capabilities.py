"""web3.capabilities.*: the completeness walk over every registered method, and the descriptors."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.validators import RegexValidator
from rest_framework import serializers
from rest_framework.fields import empty

from market.errors import CODES
from web3api import registry

pytestmark = pytest.mark.django_db

ALL_METHODS = registry.all_methods()
METHOD_NAMES = [m.name for m in ALL_METHODS]


def _number(value):
    return float(value) if isinstance(value, Decimal) else value


def flatten(prop: dict) -> dict:
    """A nested object with its own description comes as {"allOf": [<object>], "description": ...}
    (how OpenAPI 3.0 annotates a reference): read it as one schema."""
    all_of = prop.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
        rest = {k: v for k, v in prop.items() if k != "allOf"}
        return {**flatten(all_of[0]), **rest}
    return prop


def check_field(path: str, field: serializers.Field, prop: dict, problems: list[str]) -> None:
    """Every constraint the serializer field enforces appears in its JSON Schema property."""
    prop = flatten(prop)

    def expect(key, wanted):
        if key not in prop:
            problems.append(f"{path}: {key} missing (want {wanted!r})")
        elif prop[key] != wanted:
            problems.append(f"{path}: {key} is {prop[key]!r}, want {wanted!r}")

    if getattr(field, "min_value", None) is not None:
        expect("minimum", _number(field.min_value))
    if getattr(field, "max_value", None) is not None:
        expect("maximum", _number(field.max_value))
    if isinstance(field, serializers.CharField):
        if field.min_length is not None:
            expect("minLength", field.min_length)
        if field.max_length is not None:
            expect("maxLength", field.max_length)
    if isinstance(field, serializers.ListField):
        if field.min_length is not None:
            expect("minItems", field.min_length)
        if field.max_length is not None:
            expect("maxItems", field.max_length)
    for validator in field.validators:
        if isinstance(validator, RegexValidator) and not validator.inverse_match:
            expect("pattern", validator.regex.pattern)
    if isinstance(field, serializers.ChoiceField):
        enum = [v for v in prop.get("enum", []) if v not in (None, "")]
        if sorted(map(str, enum)) != sorted(map(str, field.choices)):
            problems.append(f"{path}: enum is {prop.get('enum')!r}, want {list(field.choices)!r}")
    if field.default is not empty and not callable(field.default):
        expect("default", field.default)
    # the help text, to which drf-spectacular may append a list of the choices
    if field.help_text and not str(prop.get("description", "")).startswith(str(field.help_text)):
        problems.append(f"{path}: description is {prop.get('description')!r}, want {field.help_text!r}")
    # nested objects and lists of objects are walked too
    if isinstance(field, serializers.Serializer):
        check_serializer(path, field, prop, problems)
    if isinstance(field, serializers.ListSerializer):
        check_serializer(path + "[]", field.child, prop.get("items", {}), problems)
    if isinstance(field, serializers.ListField) and isinstance(field.child, serializers.Serializer):
        check_serializer(path + "[]", field.child, prop.get("items", {}), problems)


def check_serializer(path: str, serializer: serializers.Serializer, schema: dict, problems: list[str]) -> None:
    schema = flatten(schema)
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        where = f"{path}.{name}"
        if name not in properties:
            problems.append(f"{where}: not in the schema's properties")
            continue
        if field.required and name not in required:
            problems.append(f"{where}: required, but not listed in `required`")
        if not field.required and name in required:
            problems.append(f"{where}: optional, but listed in `required`")
        check_field(where, field, properties[name], problems)
    extra = set(properties) - {n for n, f in serializer.fields.items() if not f.read_only}
    if extra:
        problems.append(f"{path}: schema has properties the serializer does not: {sorted(extra)}")


@pytest.fixture(scope="module")
def descriptors(django_db_blocker):
    """describe of every registered method, fetched once through the gateway."""
    import json

    from django.test import Client

    client = Client()
    out = {}
    with django_db_blocker.unblock():
        for name in METHOD_NAMES:
            r = client.post(
                "/api/v1/web3.capabilities.describe",
                data=json.dumps({"name": name}),
                content_type="application/json",
                REMOTE_ADDR=f"198.51.100.{len(out) % 250}",
            )
            assert r.status_code == 200, (name, r.content)
            out[name] = json.loads(r.content)["result"]
    return out


def test_every_method_is_registered_with_the_essentials():
    # given the registry; then the foundation's methods are all there
    assert {
        "web3.capabilities.list",
        "web3.capabilities.describe",
        "web3.siwe.challenge",
        "web3.siwe.verify",
        "web3.identity.whoami",
        "web3.identity.logout",
        "web3.status.summary",
    } <= set(METHOD_NAMES)


@pytest.mark.keypath
@pytest.mark.parametrize("name", METHOD_NAMES)
def test_params_schema_has_every_field_and_constraint(descriptors, name):
    # given a registered method and its params serializer
    method = registry.get(name)
    schema = descriptors[name]["paramsSchema"]

    # when its paramsSchema is walked against the serializer
    problems: list[str] = []
    check_serializer("params", method.params(), schema, problems)

    # then every field, required flag and constraint is there, and nothing else is accepted
    assert problems == []
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_returns_has_the_result_fields(descriptors, name):
    method = registry.get(name)
    returns = descriptors[name]["returns"]
    fields = {n for n, f in method.result().fields.items() if not f.write_only}
    assert set(returns.get("properties", {})) == fields


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_descriptor_matches_the_declaration(descriptors, name):
    # given a method's declaration; then describe tells all of it
    m = registry.get(name)
    d = descriptors[name]
    assert d["name"] == m.name
    assert d["summary"] == m.summary and d["summary"]
    assert d["group"] == m.group == name.split(".")[1]
    assert d["readOnly"] is m.read_only
    assert d["auth"] == m.auth
    assert d["availability"] == {"enabled": True}
    assert d["stability"] == m.stability
    assert d["risk"] == m.risk
    assert d["pricing"] == m.pricing
    assert d["prerequisites"] == m.prerequisites
    assert d["errors"] == m.errors
    assert set(d["errors"]) <= set(CODES)
    assert "E_INVALID_ARGUMENT" in d["errors"] and "E_INTERNAL" in d["errors"]
    if m.auth != "none":
        assert "E_AUTH_REQUIRED" in d["errors"]
    assert d["permissions"] == (m.permissions or ([] if m.auth == "none" else [f"auth: {m.auth}"]))
    assert d["rateLimit"]
    if m.hash_fields is None:
        assert "hashFields" not in d
    else:
        assert d["hashFields"] == m.hash_fields


def _param_schema(schema: dict, path: str) -> dict | None:
    """The schema of a dotted param path inside a params schema, or None when there is no such param."""
    for part in path.split("."):
        props = flatten(schema).get("properties", {})
        if part not in props:
            return None
        schema = props[part]
    return schema


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_param_rules_are_the_declared_ones_and_name_real_params(descriptors, name):
    # given a method's declaration of the rules no schema can state
    m = registry.get(name)
    rules = descriptors[name]["paramRules"]
    # then describe shows them, the generic ones with them, each naming a param of its schema with a reason
    assert rules == m.param_rules
    assert {k: v for k, v in rules.items() if k in m.unexpressible} == m.unexpressible
    for generic, why in registry.GENERIC_PARAM_RULES.items():
        if generic in m.params().fields:
            assert rules[generic] == why
    for path, why in rules.items():
        assert _param_schema(descriptors[name]["paramsSchema"], path) is not None, path
        assert why.strip()


def test_param_rules_cover_the_rules_the_market_checks_on_state(descriptors):
    # a spot check of rules a client needs: a digest, two values compared, the state of an object
    assert set(descriptors["web3.dispute.submitEvidence"]["paramRules"]) == {"sha256", "content"}
    assert "entry.resourceId" in descriptors["web3.index.report"]["paramRules"]
    assert set(descriptors["web3.market.placeBid"]["paramRules"]) == {"price", "signature"}
    assert set(descriptors["web3.resources.list"]["paramRules"]) == {"cursor"}
    assert descriptors["web3.capabilities.list"]["paramRules"] == {}


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_examples_are_valid_calls(descriptors, name):
    # every example in a descriptor is a call the method would accept (no unknown or invalid params)
    m = registry.get(name)
    for example in descriptors[name]["examples"]:
        params = example.get("params", {})
        serializer = m.params(data=params)
        assert set(params) <= set(serializer.fields), (name, params)
        assert serializer.is_valid(), (name, params, serializer.errors)


def test_list_names_every_registered_method_once(anon):
    items = anon.call("web3.capabilities.list").result["items"]
    assert [i["name"] for i in items] == sorted(METHOD_NAMES)
    for item in items:
        m = registry.get(item["name"])
        assert item == {
            "name": m.name,
            "summary": m.summary,
            "group": m.group,
            "readOnly": m.read_only,
            "auth": m.auth,
            "availability": {"enabled": True},
        }


def test_list_filters_by_group(anon):
    items = anon.call("web3.capabilities.list", {"group": "siwe"}).result["items"]
    assert [i["name"] for i in items] == ["web3.siwe.challenge", "web3.siwe.verify"]
    assert anon.call("web3.capabilities.list", {"group": "nothing"}).result == {"items": []}


def test_describe_of_an_unknown_method_is_not_found(anon):
    r = anon.call("web3.capabilities.describe", {"name": "web3.nothing.here"})
    assert r.status == 404
    assert r.code == "E_NOT_FOUND"


@pytest.mark.parametrize("name", ["", "siwe.challenge", "web3.siwe", "web3.siwe.challenge;drop", "x" * 101])
def test_describe_of_a_malformed_name_is_invalid_argument(anon, name):
    r = anon.call("web3.capabilities.describe", {"name": name})
    assert r.status == 400
    assert set(r.body["error"]["details"]["fields"]) == {"name"}


def test_describe_siwe_challenge_in_detail(anon):
    # a spot check of exact values an agent relies on to build the call
    d = anon.call("web3.capabilities.describe", {"name": "web3.siwe.challenge"}).result
    props = d["paramsSchema"]["properties"]
    assert d["paramsSchema"]["required"] == ["address"]
    assert props["address"]["pattern"] == "^0x[0-9a-fA-F]{40}$"
    assert props["address"]["maxLength"] == 42
    assert props["chainId"]["type"] == "integer" and props["chainId"]["minimum"] == 1
    assert set(d["returns"]["properties"]) == {"message", "nonce", "expiresAt"}
    assert d["returns"]["properties"]["expiresAt"]["format"] == "date-time"
    assert d["auth"] == "none" and d["readOnly"] is False


def test_describe_output_has_no_internal_paths(descriptors):
    import json

    raw = json.dumps(descriptors)
    for leak in ("/work/", "/srv/", "site-packages", '.py"', "Traceback"):
        assert leak not in raw
