"""The web server's request-line and header limits (issue 11, item 8): every documented GET param
at its documented maximum length, URL-encoded at its worst, reaches the market, which answers in
its envelope; only a request line over gunicorn's limit gets gunicorn's own 414."""

from __future__ import annotations

import http.client
import json
from urllib.parse import quote

import pytest

from tests.gunicorn_server import GunicornServer, gunicorn_config
from web3api.registry import all_methods
from web3api.schema import method_schemas, openapi_document

READ_ONLY = [m for m in all_methods() if m.read_only]
# A character of four UTF-8 bytes, each percent-encoded: 12 bytes of request line per character,
# the most any character of a string param can cost.
WIDEST = "\U0001d11e"
# A date-time has no documented length; this is longer than any form Django parses, each
# character percent-encoded (3 bytes).
DATE_TIME_CHARS = 40


def worst_value(name: str, schema: dict) -> str:
    """The value of this param, at its documented maximum, that takes the most request line."""
    if "enum" in schema:
        return max((str(v) for v in schema["enum"]), key=lambda v: len(quote(v, safe="")))
    kind = schema.get("type")
    if kind == "boolean":
        return "false"
    if kind == "integer":
        bounds = [str(schema[k]) for k in ("maximum", "minimum") if k in schema] or [str(-(2**63))]
        return max(bounds, key=len)
    if schema.get("format") == "date-time":
        return ":" * DATE_TIME_CHARS
    assert "maxLength" in schema, f"param {name} documents no maximum length"
    return WIDEST * schema["maxLength"]


def worst_target(method) -> str:
    params, _ = method_schemas(method)
    query = "&".join(
        f"{quote(n, safe='')}={quote(worst_value(n, s), safe='')}" for n, s in params["properties"].items()
    )
    return f"/api/v1/{method.name}" + (f"?{query}" if query else "")


def request_line(target: str) -> str:
    return f"GET {target} HTTP/1.1"


def test_the_request_line_limit_holds_every_documented_get_at_its_worst():
    # given the longest request line any read-only method's documented params can make
    need = max(len(request_line(worst_target(m))) for m in READ_ONLY)

    # then gunicorn's configured limit holds it, and the schema documents that limit
    limit = int(gunicorn_config()["limit_request_line"])
    assert need <= limit, f"a GET needs {need} bytes of request line; limit_request_line is {limit}"
    get_op = openapi_document()["paths"]["/api/v1/web3.capabilities.list"]["get"]
    assert f"{limit} bytes" in get_op["responses"]["414"]["description"]


def test_server_answers_are_documented_on_get_and_never_body_errors():
    doc = openapi_document()
    for m in READ_ONLY:
        get_responses = doc["paths"][f"/api/v1/{m.name}"]["get"]["responses"]
        post_responses = doc["paths"][f"/api/v1/{m.name}"]["post"]["responses"]
        # then a GET documents the web server's 414 and 431 (no envelope), and no body statuses
        assert {"414", "431"} <= set(get_responses)
        assert "content" not in get_responses["414"]
        assert not {"405", "413", "415"} & set(get_responses)
        # and a POST its body statuses, with the envelope
        assert {"413", "415", "431"} <= set(post_responses)
        assert post_responses["415"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorEnvelope")


@pytest.fixture(scope="module")
def server():
    with GunicornServer() as running:
        yield running


def get_raw(server, target: str) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", target)
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type", ""), r.read()
    finally:
        conn.close()


@pytest.mark.parametrize("name", [m.name for m in READ_ONLY])
def test_a_get_with_every_param_at_its_maximum_is_answered_by_the_market(server, name):
    # given a GET of this method with every param at its documented maximum, URL-encoded at worst
    method = next(m for m in READ_ONLY if m.name == name)
    target = worst_target(method)

    # when it is sent to the real web server
    status, content_type, body = get_raw(server, target)

    # then the market answers it in its envelope (most such values are refused, as they should be)
    assert status != 414, f"gunicorn refused a {len(request_line(target))}-byte request line"
    assert content_type == "application/json", body[:200]
    assert json.loads(body)["ok"] in (True, False)


def test_a_request_line_over_the_limit_gets_the_web_servers_414(server):
    # given a request line one byte over gunicorn's limit (the control for the test above)
    limit = int(gunicorn_config()["limit_request_line"])
    base = "/api/v1/web3.capabilities.list?group="
    target = base + "a" * (limit + 1 - len(request_line(base)))
    assert len(request_line(target)) == limit + 1

    # when it is sent
    status, content_type, _ = get_raw(server, target)

    # then gunicorn answers 414 itself, not the market
    assert status == 414
    assert content_type.startswith("text/html")


def test_retry_after_is_a_documented_header_of_429_and_503():
    doc = openapi_document()
    for path in ("/api/v1/web3.test.increment", "/api/v1/web3.admin.creditAccount"):
        responses = doc["paths"][path]["post"]["responses"]
        for status in ("429", "503"):
            assert responses[status]["headers"]["Retry-After"]["schema"] == {"type": "integer"}
