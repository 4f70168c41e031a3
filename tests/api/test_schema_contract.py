"""The contract says what the server does (issue 11, items 4, 9 and 10): every request body in
/api/schema/ is closed and says what describe says, every pattern reads alike in ECMA-262 and
Python, and the rules that span params are in the schema."""

from __future__ import annotations

import copy
import json
import re

import jsonschema
import pytest
from django.conf import settings
from django.test import Client, override_settings
from hypothesis import given
from hypothesis import strategies as st

from market.errors import InvalidArgument
from market.money import amount_pattern, parse_amount
from web3api import registry
from web3api.methods.market_tasks import PublishTaskParams
from web3api.money import money_rules

pytestmark = pytest.mark.django_db
METHODS = [m.name for m in registry.all_methods()]
# Escapes and constructs Python's `re` reads otherwise than ECMA-262 (or not at all): \d, \w, \s and
# \b are Unicode-wide in Python and ASCII (or another set) in ECMA; \Z, \A, (?P<..>) and inline
# flags are Python's own.
NOT_PORTABLE = re.compile(r"\\[dDwWsSbBZA]|\(\?P<|\(\?[aiLmsux]")


@pytest.fixture(scope="module")
def document(django_db_blocker):
    with django_db_blocker.unblock():
        r = Client().get("/api/schema/?format=json")
    assert r.status_code == 200
    return json.loads(r.content)


@pytest.fixture(scope="module")
def params_schemas(django_db_blocker):
    client = Client()
    out = {}
    with django_db_blocker.unblock():
        for i, name in enumerate(METHODS):
            r = client.post(
                "/api/v1/web3.capabilities.describe",
                data=json.dumps({"name": name}),
                content_type="application/json",
                REMOTE_ADDR=f"198.51.100.{i % 250}",
            )
            out[name] = json.loads(r.content)["result"]["paramsSchema"]
    return out


def resolved(node, components):
    """The node with every $ref replaced by its component, and OpenAPI's nullable as a null type:
    what a JSON Schema client makes of an OpenAPI 3.0 schema."""
    if isinstance(node, list):
        return [resolved(v, components) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = copy.deepcopy(components[node["$ref"].rsplit("/", 1)[1]])
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    node = {k: resolved(v, components) for k, v in node.items()}
    if node.pop("nullable", False):
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            outer = {k: node.pop(k) for k in ("description", "default", "title") if k in node}
            node = {"anyOf": [node, {"type": "null"}], **outer}
    return node


def flat(prop: dict) -> dict:
    """A nested object with its own description comes as {"allOf": [<object>], "description": ...}."""
    if len(prop.get("allOf", [])) == 1 and set(prop) <= {"allOf", "description"}:
        return {**prop["allOf"][0], **{k: v for k, v in prop.items() if k != "allOf"}}
    return prop


def walk(node, path=""):
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}/{i}")


# --- item 9: OpenAPI and paramsSchema agree ---------------------------------------------------------------------


def test_every_request_object_is_closed(document):
    # given every request body of every operation, and every object inside one
    bodies = [
        op["requestBody"]["content"]["application/json"]["schema"]
        for path in document["paths"].values()
        for op in path.values()
        if "requestBody" in op
    ]
    components = document["components"]["schemas"]
    seen = set()
    for body in bodies:
        for _, node in walk(resolved(body, components)):
            if node.get("type") == "object" and "properties" in node:
                seen.add(json.dumps(sorted(node["properties"])))
                # then each has additionalProperties: false, as the server refuses unknown names at any depth
                assert node.get("additionalProperties") is False, node
    assert len(seen) > 40


@pytest.mark.parametrize("name", METHODS)
def test_params_schema_is_the_request_body(document, params_schemas, name):
    # when the OpenAPI request body is resolved as any JSON Schema client would resolve it
    op = document["paths"][f"/api/v1/{name}"]["post"]
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    expected = (
        resolved(body, document["components"]["schemas"])
        if body
        else {"type": "object", "properties": {}, "additionalProperties": False}
    )

    # then it is describe's paramsSchema, keyword for keyword
    assert params_schemas[name] == expected


def test_get_parameters_say_what_the_body_says(document, params_schemas):
    for name, path in document["paths"].items():
        if "get" not in path:
            continue
        props = params_schemas[name.rsplit("/", 1)[1]]["properties"]
        for parameter in path["get"].get("parameters", []):
            prop = {k: v for k, v in props[parameter["name"]].items() if k != "description"}
            assert prop.items() <= parameter["schema"].items(), (name, parameter["name"])


# --- item 4: patterns are ECMA-262 ---------------------------------------------------------------------------------


def test_no_pattern_in_the_schema_reads_otherwise_in_ecma_262(document):
    patterns = {node["pattern"] for _, node in walk(document) if isinstance(node.get("pattern"), str)}
    assert patterns
    for pattern in patterns:
        assert not NOT_PORTABLE.search(pattern), pattern
        re.compile(pattern)


@pytest.mark.parametrize("scale", [0, 2, 6, 18])
@pytest.mark.parametrize("positive", [True, False])
@given(
    text=st.one_of(
        st.text(st.sampled_from("0123456789.-+e ١٢٣５𝟙\n"), max_size=45),
        st.from_regex(r"0*[0-9]{1,20}(\.[0-9]{1,20})?", fullmatch=True),
    )
)
def test_the_amount_pattern_is_exactly_what_parse_amount_accepts(scale, positive, text):
    # given a currency of this scale
    code = {0: "ZERO", 2: "CENT", 6: "USDC", 18: "WEI"}[scale]

    # then the schema's pattern (within maxLength 40) matches exactly the strings the server accepts
    with override_settings(WEB3_CURRENCIES="USDC:6,ZERO:0,CENT:2,WEI:18"):
        try:
            parse_amount(text, code, allow_zero=not positive)
            accepted = True
        except InvalidArgument:
            accepted = False
    assert accepted == (len(text) <= 40 and bool(re.fullmatch(amount_pattern(scale, positive=positive), text))), text


def test_amounts_follow_their_currency_when_scales_differ(settings):
    # given two currencies of different scales
    settings.WEB3_CURRENCIES = "USDC:6,CENT:2"
    rules = {"allOf": money_rules(PublishTaskParams())}

    # then the schema ties the budget's decimals to the chosen currency
    assert jsonschema.Draft202012Validator(rules).is_valid({"budget": "1.123456", "currency": "USDC"})
    assert not jsonschema.Draft202012Validator(rules).is_valid({"budget": "1.123", "currency": "CENT"})
    assert jsonschema.Draft202012Validator(rules).is_valid({"budget": "1.12", "currency": "CENT"})
    settings.WEB3_CURRENCIES = "USDC:6"
    assert money_rules(PublishTaskParams()) == []


# --- item 10: the rules a server checks are in the schema ---------------------------------------------------------


def valid(schema, params) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(params)


def test_a_ruling_needs_a_share_and_a_decline_has_none(params_schemas):
    schema = params_schemas["web3.dispute.resolve"]
    base = {"disputeId": "dsp_1", "rationale": "because"}
    assert valid(schema, {**base, "decision": "rule", "payeeShareBps": 5000})
    assert not valid(schema, {**base, "decision": "rule"})
    assert valid(schema, {**base, "decision": "decline"})
    assert not valid(schema, {**base, "decision": "decline", "payeeShareBps": 0})


def test_evidence_needs_content_or_uri(params_schemas):
    schema = params_schemas["web3.dispute.submitEvidence"]
    base = {"disputeId": "dsp_1", "kind": "text", "sha256": "ab" * 32}
    assert not valid(schema, base)
    assert not valid(schema, {**base, "content": "", "uri": "   "})
    assert valid(schema, {**base, "content": " "})
    assert valid(schema, {**base, "uri": "https://example.com/log"})
    assert "sha256" in schema["properties"]["sha256"]["description"]


def test_a_price_ceiling_may_leave_out_its_currency(params_schemas):
    # a ceiling without a currency applies to each currency in its own scale (it needed currency once)
    schema = params_schemas["web3.resources.list"]
    assert valid(schema, {"maxUnitPrice": "1"})
    assert valid(schema, {"maxUnitPrice": "0", "currency": "USDC"})
    assert valid(schema, {"currency": "USDC"})
    assert not valid(schema, {"maxUnitPrice": "0.0000001"})  # more decimals than any configured scale
    assert not valid(schema, {"maxUnitPrice": 1})


def test_a_resource_is_priced_in_a_unit_of_its_kind(params_schemas):
    schema = params_schemas["web3.resources.publish"]
    base = {"name": "n", "backend": "custom", "endpoint": "https://p.example.com/v1"}
    for kind, unit, ok in [
        ("model", "token", True),
        ("model", "query", False),
        ("search", "query", True),
        ("storage", "byte", True),
        ("storage", "token", False),
    ]:
        params = {**base, "kind": kind, "pricing": {"unit": unit, "unitPrice": "0", "currency": "USDC"}}
        assert valid(schema, params) is ok, (kind, unit)


@pytest.mark.parametrize(
    ("endpoint", "ok"),
    [
        ("https://p.example.com", True),
        ("http://10.0.0.1:8080/v1?x=1", True),
        ("ftp://p.example.com", False),
        ("https://user@p.example.com", False),
        ("https://p.example.com/#frag", False),
        ("https://:80", False),
        ("http://p.example.com:0", False),
        ("http://p.example.com:65536", False),
        ("https://p example.com", False),
        ("https://p.example.com/a%2Fb?q=%41", True),
        ("http://!DM%9", False),
        ("https://p.example.com/a%zz", False),
        ("https://p.example.com/?q=%", False),
    ],
)
def test_an_endpoint_is_an_http_url_with_a_host(params_schemas, endpoint, ok):
    prop = params_schemas["web3.resources.publish"]["properties"]["endpoint"]
    assert prop["format"] == "uri"
    assert bool(re.search(prop["pattern"], endpoint)) is ok


def test_chain_ids_and_amount_bounds(params_schemas):
    chain = params_schemas["web3.siwe.challenge"]["properties"]["chainId"]
    assert chain["enum"] == settings.WEB3_CHAIN_IDS
    budget = params_schemas["web3.market.publishTask"]["properties"]["budget"]
    assert not re.search(budget["pattern"], "0.000000") and re.search(budget["pattern"], "0.000001")
    assert re.search(budget["pattern"], "999999999999.999999") and not re.search(budget["pattern"], "1000000000000")
    unit_price = flat(params_schemas["web3.resources.publish"]["properties"]["pricing"])["properties"]["unitPrice"]
    assert re.search(unit_price["pattern"], "0")


def test_strings_say_they_refuse_nul_and_blank(params_schemas):
    title = params_schemas["web3.market.publishTask"]["properties"]["title"]["pattern"]
    assert re.search(title, "a title") and not re.search(title, "a\x00b") and not re.search(title, " \u3000\t")
    note = params_schemas["web3.market.placeBid"]["properties"]["note"]["pattern"]
    assert re.search(note, "") and re.search(note, "   ") and not re.search(note, "\x00")


def test_an_index_entry_is_a_full_object(params_schemas):
    entry = flat(params_schemas["web3.index.report"]["properties"]["entry"])
    assert entry["type"] == "object" and entry["additionalProperties"] is False
    assert sorted(entry["required"]) == ["pricing", "reportedAt", "resourceId", "tags"]
    assert flat(entry["properties"]["pricing"])["additionalProperties"] is False
    assert entry["properties"]["reportedAt"]["format"] == "date-time"


def test_what_no_schema_can_say_is_in_the_description(params_schemas):
    described = {
        ("web3.market.listTasks", "cursor"): "opaque",
        ("web3.market.placeBid", "signature"): "No schema can check a signature",
        ("web3.market.placeBid", "price"): "task's budget",
        ("web3.index.report", "signature"): "no schema can check it",
        ("web3.siwe.verify", "message"): "only the text the market issued",
        ("web3.resources.invoke", "input"): "the lease decides",
        ("web3.market.getTask", "taskId"): "E_NOT_FOUND",
    }
    for (name, param), words in described.items():
        assert words in params_schemas[name]["properties"][param]["description"], (name, param)
    entry = flat(params_schemas["web3.index.report"]["properties"]["entry"])["properties"]
    assert "Equal to the params' resourceId" in entry["resourceId"]["description"]
    assert "300 s" in entry["reportedAt"]["description"]
