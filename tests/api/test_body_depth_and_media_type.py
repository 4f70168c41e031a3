"""Hostile bodies (issue 11, items 3 and 6): JSON nested deeper than WEB3_MAX_JSON_DEPTH is
E_INVALID_ARGUMENT before anything recurses into it, for every method; a body is read only when
it is sent as JSON (`application/json`, `application/*+json`), otherwise 415."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from market.json_depth import nesting_depth
from tests.conftest import API
from tests.provider_server import ProviderServer
from tests.resource_helpers import fund, publish
from tests.testapp.models import Counter
from web3api.registry import all_methods

pytestmark = pytest.mark.django_db
POST_METHODS = [m.name for m in all_methods()]


def post(client: Client, method: str, body: bytes | str, *, content_type: str = "application/json", token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = client.generic("POST", API + method, data=body, content_type=content_type, headers=headers)
    assert r["Content-Type"] == "application/json", r.content[:200]
    return r.status_code, json.loads(r.content)


def nested_list(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_objects(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.fixture
def everyone(sign_in):
    """A caller with every role, so that no method stops at auth before reading the body."""
    return sign_in(roles=("staff", "arbitrator"))


# --- depth ------------------------------------------------------------------------------------------


@pytest.mark.keypath
@pytest.mark.parametrize("name", POST_METHODS)
def test_ten_thousand_brackets_in_a_param_are_invalid_argument_for_every_method(client, everyone, name):
    # given a param holding `[` nested 10,000 deep (a RecursionError, 500, before the limit existed)
    body = '{"x": ' + nested_list(10_000) + "}"

    # when it is posted to the method
    status, payload = post(client, name, body, token=everyone.token)

    # then it is E_INVALID_ARGUMENT naming the limit, not a server error
    assert status == 400, payload
    assert payload["error"]["code"] == "E_INVALID_ARGUMENT"
    assert payload["error"]["details"] == {"maxDepth": settings.WEB3_MAX_JSON_DEPTH}
    assert str(settings.WEB3_MAX_JSON_DEPTH) in payload["error"]["message"]


def test_deep_body_is_refused_before_the_idempotency_key_is_claimed(client, alice):
    # given a mutating call with an Idempotency-Key and a body nested far too deep
    body = '{"name": "deep", "x": ' + nested_list(10_000) + "}"
    r = client.generic(
        "POST",
        API + "web3.test.increment",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {alice.token}", "Idempotency-Key": "deep-1"},
    )

    # then it is refused, nothing was done, and the same key still works for a proper call
    assert r.status_code == 400
    assert not Counter.objects.filter(name="deep").exists()
    again = alice.call("web3.test.increment", {"name": "deep"}, idempotency_key="deep-1")
    assert again.result == {"name": "deep", "value": 1}


@pytest.fixture
def provider_server():
    with ProviderServer() as server:
        yield server


@pytest.fixture
def custom_lease(sign_in, provider_server):
    """A lease on a `custom` backend, whose `input` may be any JSON object (echoed back)."""
    provider, consumer = sign_in(), sign_in()
    fund(consumer.actor_id, 10)
    resource = publish(provider, provider_server, kind="search", backend="custom", unit="call", price="0").result
    lease = consumer.call(
        "web3.leases.issue", {"resourceId": resource["resourceId"], "maxCost": "1", "ttlSec": 600}
    ).result
    return consumer, lease


def invoke_body(lease_id: str, input_depth: int) -> str:
    """An invoke body whose `input` is objects nested `input_depth` deep (the body one more)."""
    return '{"leaseId": "' + lease_id + '", "input": ' + nested_objects(input_depth) + "}"


def test_invoke_with_input_five_thousand_objects_deep_is_invalid_argument(client, custom_lease, provider_server):
    consumer, lease = custom_lease

    # when the input is 5,000 objects deep
    status, payload = post(client, "web3.resources.invoke", invoke_body(lease["leaseId"], 5000), token=consumer.token)

    # then it is refused with the limit, and the provider was never called
    assert status == 400, payload
    assert payload["error"]["code"] == "E_INVALID_ARGUMENT"
    assert payload["error"]["details"] == {"maxDepth": settings.WEB3_MAX_JSON_DEPTH}
    assert provider_server.state.requests == []


def test_a_body_at_the_limit_is_served_and_one_level_more_is_refused(client, custom_lease, provider_server):
    consumer, lease = custom_lease
    limit = settings.WEB3_MAX_JSON_DEPTH

    # when the body nests exactly `limit` levels (the params object is level 1, so input limit - 1)
    at_limit = invoke_body(lease["leaseId"], limit - 1)
    assert nesting_depth(at_limit) == limit
    ok_status, ok = post(
        client, "web3.resources.invoke", at_limit, content_type="application/json", token=consumer.token
    )

    # then it is invoked and the provider's echo comes back whole
    assert ok_status == 200, ok
    echoed = ok["result"]["output"]["echo"]
    assert nesting_depth(json.dumps(echoed)) == limit - 1

    # and one level more is refused before the provider sees it
    calls = len(provider_server.state.requests)
    over_status, over = post(
        client, "web3.resources.invoke", invoke_body(lease["leaseId"], limit), token=consumer.token
    )
    assert over_status == 400
    assert over["error"]["details"] == {"maxDepth": limit}
    assert len(provider_server.state.requests) == calls


def test_an_openai_compat_chat_body_with_tools_fits_well_inside_the_limit():
    # given a chat-completions invoke body with content parts and a tool whose parameters are a
    # nested JSON Schema (an array of objects holding arrays of objects)
    schema = {
        "type": "object",
        "properties": {
            "rows": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "cells": {
                            "type": "array",
                            "items": {"type": "object", "properties": {"value": {"type": "string"}}},
                        }
                    },
                },
            }
        },
    }
    body = {
        "leaseId": "lse_x",
        "input": {
            "model": "m",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": [{"type": "text", "text": '{[("quoted")]}'}]}],
            "tools": [{"type": "function", "function": {"name": "fill", "parameters": schema}}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}},
        },
    }

    # then it nests well under half the limit
    assert nesting_depth(json.dumps(body)) * 2 < settings.WEB3_MAX_JSON_DEPTH


# --- the depth scan, against the parsed value ----------------------------------------------------------


def depth_of(value) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


# Strings full of what the scan must not count: brackets, quotes, backslashes, escapes.
tricky_text = st.text(alphabet=st.sampled_from(["[", "]", "{", "}", '"', "\\", "a", "é", "\n", "\u2028", "\x00"]))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(tricky_text, inner, max_size=4),
    max_leaves=30,
)


@given(value=json_values, ascii_only=st.booleans(), spaced=st.booleans())
def test_the_scan_measures_what_the_parser_builds(value, ascii_only, spaced):
    text = json.dumps(value, ensure_ascii=ascii_only, indent=1 if spaced else None)
    assert nesting_depth(text) == depth_of(value)


# --- media types ------------------------------------------------------------------------------------


@pytest.mark.keypath
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "",
        "application/jsonp",
        "application/json-patch",
        "text/json",
    ],
)
def test_a_json_body_of_another_content_type_is_415_and_does_nothing(client, alice, content_type):
    # given a mutating call whose body is JSON but not declared so
    body = json.dumps({"name": "typed"})

    # when it is posted
    status, payload = post(client, "web3.test.increment", body, content_type=content_type, token=alice.token)

    # then it is E_INVALID_ARGUMENT with HTTP 415, saying how to send it, and nothing changed
    assert status == 415, payload
    assert payload["error"]["code"] == "E_INVALID_ARGUMENT"
    assert "Content-Type: application/json" in payload["error"]["message"]
    assert payload["error"]["details"]["accepted"] == ["application/json", "application/*+json"]
    assert not Counter.objects.filter(name="typed").exists()


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        "application/vnd.market+json",
        "application/merge-patch+json",
    ],
)
def test_json_media_types_with_parameters_are_read(client, alice, content_type):
    status, payload = post(
        client, "web3.test.increment", json.dumps({"name": content_type}), content_type=content_type, token=alice.token
    )
    assert status == 200, payload
    assert payload["result"] == {"name": content_type, "value": 1}


@pytest.mark.parametrize("content_type", ["", "text/plain", "multipart/form-data; boundary=x"])
@pytest.mark.parametrize("body", [b"", b"  \n"])
def test_an_empty_body_still_means_no_params_whatever_its_type(client, content_type, body):
    status, payload = post(client, "web3.capabilities.list", body, content_type=content_type)
    assert status == 200, payload
    assert payload["ok"] is True


def test_a_read_only_method_refuses_a_form_post_too(client):
    # given the form a browser would send
    status, payload = post(
        client, "web3.capabilities.list", "group=siwe", content_type="application/x-www-form-urlencoded"
    )

    # then it is the same 415 naming what was sent
    assert status == 415
    assert payload["error"]["details"]["contentType"] == "application/x-www-form-urlencoded"
