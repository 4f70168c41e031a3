"""The OpenAPI document (drf-spectacular): valid, one operation per method form, and the docs page."""

from __future__ import annotations

import json

import pytest
import yaml
from django.core.management import call_command

from web3api import registry

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def document(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        r = Client().get("/api/schema/?format=json")
    assert r.status_code == 200
    return json.loads(r.content)


@pytest.mark.keypath
def test_spectacular_validates_without_warnings(tmp_path, capsys):
    # when the schema is generated and validated, with warnings as failures
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    # then it succeeds and the file is an OpenAPI 3 document with every method's path
    doc = yaml.safe_load(out.read_text())
    assert doc["openapi"].startswith("3.")
    assert {f"/api/v1/{m.name}" for m in registry.all_methods()} <= set(doc["paths"])
    assert "Warning" not in capsys.readouterr().err


@pytest.mark.keypath
@pytest.mark.parametrize("name", [m.name for m in registry.all_methods()])
def test_each_method_has_its_operations(document, name):
    # given a registered method; then POST has operationId = name, and GET exists only if read-only
    m = registry.get(name)
    path = document["paths"][f"/api/v1/{name}"]
    assert path["post"]["operationId"] == name
    if m.read_only:
        assert path["get"]["operationId"] == f"{name}:get"
    else:
        assert "get" not in path
    assert set(path) <= {"get", "post"}


@pytest.mark.parametrize("name", [m.name for m in registry.all_methods()])
def test_operations_declare_the_envelope_and_errors(document, name):
    m = registry.get(name)
    op = document["paths"][f"/api/v1/{name}"]["post"]
    assert "200" in op["responses"]
    assert "400" in op["responses"] and "500" in op["responses"]
    if not m.read_only:
        assert "405" in op["responses"]
    if m.auth != "none":
        assert "401" in op["responses"]
    error = op["responses"]["400"]["content"]["application/json"]["schema"]["$ref"]
    assert error == "#/components/schemas/ErrorEnvelope"
    # no root-level security: an operation without `security` needs no credentials
    assert "security" not in document
    if m.auth == "none":
        assert "security" not in op
    else:
        assert op["security"] == [{"bearer": []}]


def test_operation_ids_are_unique(document):
    ids = [op["operationId"] for path in document["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))


def test_error_schema_lists_every_code(document):
    codes = document["components"]["schemas"]["ErrorDetail"]["properties"]["code"]
    enum = codes.get("enum") or document["components"]["schemas"][codes["$ref"].rsplit("/", 1)[1]]["enum"]
    assert set(enum) == {
        "E_INVALID_ARGUMENT",
        "E_AUTH_REQUIRED",
        "E_INSUFFICIENT_FUNDS",
        "E_FORBIDDEN",
        "E_NOT_FOUND",
        "E_CONFLICT",
        "E_EXPIRED",
        "E_REVOKED",
        "E_QUOTA_EXCEEDED",
        "E_INTERNAL",
        "E_UNAVAILABLE",
        "E_TIMEOUT",
    }


def test_the_error_details_description_names_every_key_the_gateway_answers_with(document, client, settings):
    # given answers that carry details: a missing token, a bad param, bodies that are too deep, too
    # large or not JSON, a GET on a method that changes state, a crash
    from tests.conftest import API

    settings.WEB3_MAX_BODY_BYTES = 256
    post = lambda method, body, ctype="application/json": client.generic(  # noqa: E731
        "POST", API + method, data=body, content_type=ctype
    )
    answers = [
        post("web3.identity.whoami", "{}"),
        post("web3.capabilities.describe", '{"name": 1}'),
        post("web3.capabilities.list", '{"group": ' + "[" * 70 + "]" * 70 + "}"),
        post("web3.capabilities.list", '{"group": "' + "x" * 300 + '"}'),
        post("web3.capabilities.list", '{"group": "x"}', "text/plain"),
        client.get(API + "web3.market.publishTask"),
    ]
    keys = {key for r in answers for key in json.loads(r.content)["error"]["details"]}
    assert {"header", "signIn", "fields", "maxDepth", "maxBytes", "contentType", "accepted", "allowed"} <= keys
    # then the ErrorDetail schema's description of details names each of them (and the retry and crash ones)
    described = document["components"]["schemas"]["ErrorDetail"]["properties"]["details"]["description"]
    for key in keys | {"retryAfterSec", "correlationId"}:
        assert f"`{key}`" in described, key


def test_operations_state_the_rules_no_schema_can(document):
    # the OpenAPI reader learns describe's paramRules from the operation's description
    for name, param in [("web3.dispute.submitEvidence", "sha256"), ("web3.index.report", "entry.resourceId")]:
        description = document["paths"][f"/api/v1/{name}"]["post"]["description"]
        assert f"`{param}`: {registry.get(name).param_rules[param]}" in description
    assert "Rules no schema states" not in document["paths"]["/api/v1/web3.capabilities.list"]["post"]["description"]


def test_schema_is_served_as_yaml_by_default(client):
    r = client.get("/api/schema/")
    assert r.status_code == 200
    assert yaml.safe_load(r.content)["info"]["title"] == "OpenClaw Web3 Market API"


@pytest.mark.keypath
def test_docs_page_renders_with_its_own_assets(client):
    # when the Swagger UI page is fetched
    r = client.get("/api/docs/")

    # then it renders, points at the schema, and loads Swagger UI from this server (no CDN)
    html = r.content.decode()
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/html")
    assert "swagger-ui" in html
    assert "/api/schema/" in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn." not in html and "https://" not in html


def test_an_accept_header_nothing_satisfies_is_refused_with_what_is_offered(client):
    # given a client that accepts only a type neither the document nor its page is given in
    # when it asks for them
    schema = client.get("/api/schema/", HTTP_ACCEPT="image/png")
    docs = client.get("/api/docs/", HTTP_ACCEPT="image/png")
    # then 406 (not a 500); the document's refusal is the envelope naming what it could have accepted
    body = yaml.safe_load(schema.content)
    assert (schema.status_code, docs.status_code) == (406, 406)
    assert (body["ok"], body["error"]["code"]) == (False, "E_INVALID_ARGUMENT")
    assert "application/vnd.oai.openapi+json" in body["error"]["details"]["offered"]


def test_an_unknown_schema_format_is_not_found(client):
    r = client.get("/api/schema/?format=xml")
    body = yaml.safe_load(r.content)
    assert (r.status_code, body["error"]["code"]) == (404, "E_NOT_FOUND")
