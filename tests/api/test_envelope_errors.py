"""The envelope and every error path of the gateway, through HTTP (API.md "Transport")."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import API, Api
from tests.testapp.models import Counter
from web3api.models import ConsoleActor

pytestmark = pytest.mark.django_db


def post_raw(client: Client, method: str, body: bytes | str, *, content_type="application/json", **headers):
    r = client.generic("POST", API + method, data=body, content_type=content_type, headers=headers)
    return r.status_code, json.loads(r.content), r


def counter_value(name: str) -> int | None:
    row = Counter.objects.filter(name=name).first()
    return None if row is None else row.value


# --- the envelope -------------------------------------------------------------------------------


@pytest.mark.keypath
def test_success_envelope_is_ok_and_result_only(anon):
    # given an anonymous caller
    # when it lists the capabilities
    r = anon.call("web3.capabilities.list")

    # then the body is exactly {"ok": true, "result": {...}} as JSON
    assert r.status == 200
    assert r.headers["Content-Type"] == "application/json"
    assert set(r.body) == {"ok", "result"}
    assert r.body["ok"] is True
    assert isinstance(r.result["items"], list)


@pytest.mark.keypath
def test_error_envelope_has_code_message_details(anon):
    # given an anonymous caller
    # when it calls a method that needs a token
    r = anon.call("web3.identity.whoami")

    # then the body is exactly {"ok": false, "error": {code, message, details}}
    assert r.status == 401
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="web3"'  # the challenge a 401 carries
    assert set(r.body) == {"ok", "error"}
    assert r.body["ok"] is False
    assert set(r.body["error"]) == {"code", "message", "details"}
    assert r.body["error"]["code"] == "E_AUTH_REQUIRED"
    assert isinstance(r.body["error"]["message"], str) and r.body["error"]["message"]
    # and the details say how to sign in
    assert r.body["error"]["details"] == {
        "header": "Authorization: Bearer <token>",
        "signIn": ["web3.siwe.challenge", "web3.siwe.verify"],
    }


def test_empty_body_means_no_params(client):
    # given an empty POST body
    # when it is sent to a method whose params are all optional
    status, body, _ = post_raw(client, "web3.capabilities.list", b"")

    # then it is read as {}
    assert status == 200
    assert body["ok"] is True


# --- unknown methods and params ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["web3.nope.nothing", "web3.capabilities.lists", "x", "web3.capabilities.list/extra"])
def test_unknown_method_is_not_found(anon, name):
    # given a method name that is not registered
    # when it is called with POST and with GET
    posted = anon.call(name)
    got = anon.get(name)

    # then both are E_NOT_FOUND (404) in the envelope, never an HTML page
    for r in (posted, got):
        assert r.status == 404
        assert r.code == "E_NOT_FOUND"
        assert r.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("path", ["/api/v1/", "/api/v1"])
def test_api_root_is_a_json_404_or_redirect(client, path):
    # given the API root, which names no method
    r = client.get(path)
    if r.status_code == 301:  # APPEND_SLASH
        assert r["Location"] == "/api/v1/"
        r = client.get(r["Location"])

    # then it is the envelope's E_NOT_FOUND, not an HTML page
    assert r.status_code == 404
    assert r["Content-Type"] == "application/json"
    assert json.loads(r.content)["error"]["code"] == "E_NOT_FOUND"


def test_unknown_params_are_invalid_with_details_fields(anon):
    # given params the method does not declare
    # when they are sent
    r = anon.call("web3.capabilities.list", {"group": "siwe", "bogus": 1, "Group": "x"})

    # then nothing is silently dropped: E_INVALID_ARGUMENT naming each unknown param
    assert r.status == 400
    assert r.code == "E_INVALID_ARGUMENT"
    assert r.body["error"]["details"] == {"fields": {"Group": "unknown param", "bogus": "unknown param"}}


def test_unknown_query_params_are_invalid_on_get(anon):
    # given a GET with a query param the method does not declare
    r = anon.get("web3.capabilities.list", {"grup": "siwe"})

    # then it is E_INVALID_ARGUMENT naming it
    assert r.status == 400
    assert r.code == "E_INVALID_ARGUMENT"
    assert r.body["error"]["details"] == {"fields": {"grup": "unknown param"}}


def test_repeated_query_param_is_invalid(client):
    # given a GET that names one param twice
    r = client.get(API + "web3.capabilities.list?group=siwe&group=identity")

    # then it is refused instead of picking one
    body = json.loads(r.content)
    assert r.status_code == 400
    assert body["error"]["code"] == "E_INVALID_ARGUMENT"
    assert body["error"]["details"]["fields"] == {"group": "given more than once"}


def test_missing_and_out_of_range_params_name_their_fields(alice):
    # given a call missing a required param and one out of range
    r = alice.call("web3.test.increment", {"by": 0})

    # then each is named in details.fields
    assert r.status == 400
    assert r.code == "E_INVALID_ARGUMENT"
    fields = r.body["error"]["details"]["fields"]
    assert set(fields) == {"name", "by"}
    assert "required" in fields["name"]
    assert "1" in fields["by"]


# --- malformed bodies --------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b'{"group": ', b"{'group': 'x'}", b"nope", b"\xff\xfe\x00", b'{"a": 1}}'])
def test_malformed_json_is_invalid_argument(client, body):
    # given a body that is not JSON
    # when it is posted
    status, payload, _ = post_raw(client, "web3.capabilities.list", body)

    # then it is E_INVALID_ARGUMENT (400), not a 500
    assert status == 400
    assert payload["ok"] is False
    assert payload["error"]["code"] == "E_INVALID_ARGUMENT"


@pytest.mark.parametrize("body", ["[]", '["group"]', '"group"', "42", "null", "true"])
def test_non_object_json_is_invalid_argument(client, body):
    # given valid JSON that is not an object
    status, payload, _ = post_raw(client, "web3.capabilities.list", body)

    # then it is refused: params are a JSON object
    assert status == 400
    assert payload["error"]["code"] == "E_INVALID_ARGUMENT"
    assert payload["error"]["message"] == "the body must be a JSON object of params"


def test_json_number_where_string_expected_is_invalid(anon):
    # given a JSON number where the method expects a string (no silent coercion)
    r = anon.call("web3.siwe.verify", {"message": 12345, "signature": "0x" + "11" * 65})

    # then it is E_INVALID_ARGUMENT naming the field
    assert r.status == 400
    assert r.code == "E_INVALID_ARGUMENT"
    assert set(r.body["error"]["details"]["fields"]) == {"message"}


def test_json_string_where_integer_expected_is_invalid(anon):
    # given text where an integer is expected
    r = anon.call("web3.siwe.challenge", {"address": "0x" + "ab" * 20, "chainId": "one"})

    # then it is E_INVALID_ARGUMENT naming the field
    assert r.status == 400
    assert r.body["error"]["details"]["fields"].keys() == {"chainId"}


def test_over_large_body_is_413_invalid_argument(client, settings):
    # given a body one byte over the cap
    settings.WEB3_MAX_BODY_BYTES = 2048
    body = json.dumps({"group": "x" * 2100})
    assert len(body) > 2048

    # when it is posted
    status, payload, _ = post_raw(client, "web3.capabilities.list", body)

    # then it is refused with 413 and E_INVALID_ARGUMENT
    assert status == 413
    assert payload["error"]["code"] == "E_INVALID_ARGUMENT"
    assert payload["error"]["message"] == "the body exceeds 2048 bytes"


def test_over_django_upload_cap_is_413_too(client):
    # given a body over the default cap (1 MiB), which Django also refuses to read
    body = '{"group": "' + "x" * (1024 * 1024 + 10) + '"}'

    # when it is posted
    status, payload, _ = post_raw(client, "web3.capabilities.list", body)

    # then it is the same 413 E_INVALID_ARGUMENT
    assert status == 413
    assert payload["error"]["code"] == "E_INVALID_ARGUMENT"


@pytest.mark.parametrize("length", ["١٢", "١٠٠٠٠٠٠٠٠", "²", "12x", "-1", "+2", " 2", "0x10"])
def test_a_content_length_of_anything_but_ascii_digits_is_invalid_argument(client, length):
    # given a Content-Length that is not 1*DIGIT (RFC 9110), e.g. Arabic-Indic digits or '²', which
    # str.isdigit() calls digits
    # when a body is posted with it
    r = client.generic(
        "POST", API + "web3.capabilities.list", data=b"{}", content_type="application/json", CONTENT_LENGTH=length
    )

    # then it is refused before the body is read: 400 E_INVALID_ARGUMENT, not a crash or a 413
    assert r.status_code == 400
    assert json.loads(r.content)["error"]["code"] == "E_INVALID_ARGUMENT"


def test_a_content_length_of_more_digits_than_int_reads_is_413(client):
    # given a Content-Length of 5000 digits (Python's int() reads at most 4300)
    r = client.generic(
        "POST", API + "web3.capabilities.list", data=b"{}", content_type="application/json", CONTENT_LENGTH="9" * 5000
    )
    # then it is too large, not a crash
    assert r.status_code == 413
    assert json.loads(r.content)["error"]["code"] == "E_INVALID_ARGUMENT"


def test_non_json_content_type_is_invalid_argument(client):
    # given a form-encoded body
    status, payload, _ = post_raw(
        client, "web3.capabilities.list", "group=siwe", content_type="application/x-www-form-urlencoded"
    )

    # then it is not JSON: E_INVALID_ARGUMENT, with HTTP 415
    assert status == 415
    assert payload["error"]["code"] == "E_INVALID_ARGUMENT"


# --- HTTP verbs -----------------------------------------------------------------------------------


@pytest.mark.keypath
def test_get_on_mutating_method_is_405_invalid_argument(alice):
    # given a method that changes state
    # when it is called with GET
    r = alice.get("web3.test.increment", {"name": "by-get"})

    # then it is E_INVALID_ARGUMENT with HTTP 405, and nothing changed
    assert r.status == 405
    assert r.code == "E_INVALID_ARGUMENT"
    assert r.headers["Content-Type"] == "application/json"
    assert counter_value("by-get") is None


def test_get_on_read_only_method_takes_query_params(anon):
    # given a read-only method
    # when it is called with GET and a query param
    r = anon.get("web3.capabilities.list", {"group": "siwe"})

    # then it answers like POST does
    assert r.status == 200
    assert sorted(i["name"] for i in r.result["items"]) == ["web3.siwe.challenge", "web3.siwe.verify"]


@pytest.mark.parametrize("verb", ["PUT", "PATCH", "DELETE"])
def test_other_verbs_are_405_envelope(client, verb):
    r = client.generic(verb, API + "web3.capabilities.list")
    body = json.loads(r.content)
    assert r.status_code == 405
    assert body["error"]["code"] == "E_INVALID_ARGUMENT"


# --- unexpected errors and transactions -----------------------------------------------------------


@pytest.mark.keypath
def test_unexpected_exception_is_internal_with_correlation_id_only(alice, caplog):
    # given a method that crashes with internals in its exception text
    # when it is called
    r = alice.call("web3.test.increment", {"name": "crash", "fail": "crash"})

    # then the client sees E_INTERNAL with a correlation id and nothing of the internals
    assert r.status == 500
    assert r.code == "E_INTERNAL"
    assert set(r.body["error"]["details"]) == {"correlationId"}
    correlation_id = r.body["error"]["details"]["correlationId"]
    assert len(correlation_id) == 32 and int(correlation_id, 16) >= 0
    raw = json.dumps(r.body)
    for leak in ("/srv/private/path", "secret internals", "RuntimeError", "Traceback", "methods.py"):
        assert leak not in raw
    # and the log carries the same id beside the real error, for the operator
    assert any(correlation_id in rec.getMessage() and rec.exc_info for rec in caplog.records)


@pytest.mark.keypath
@pytest.mark.parametrize(
    ("fail", "status", "code"),
    [("conflict", 409, "E_CONFLICT"), ("crash", 500, "E_INTERNAL"), ("integrity", 409, "E_CONFLICT")],
)
def test_transaction_is_rolled_back_on_error(alice, fail, status, code):
    # given a counter at 1
    assert alice.call("web3.test.increment", {"name": "tx"}).result == {"name": "tx", "value": 1}

    # when a call adds 5 and then fails
    r = alice.call("web3.test.increment", {"name": "tx", "by": 5, "fail": fail})

    # then it fails with its code and the increment it made is rolled back
    assert r.status == status
    assert r.code == code
    assert counter_value("tx") == 1


def test_rollback_also_undoes_rows_created_in_the_call(alice):
    # given no counter named "fresh"
    # when a call creates it and then fails
    r = alice.call("web3.test.increment", {"name": "fresh", "fail": "conflict"})

    # then the row is gone
    assert r.code == "E_CONFLICT"
    assert counter_value("fresh") is None


def test_integrity_error_is_conflict(alice):
    # given an existing counter
    alice.call("web3.test.increment", {"name": "dup"})

    # when a call violates its unique constraint
    r = alice.call("web3.test.increment", {"name": "dup", "fail": "integrity"})

    # then it is E_CONFLICT (409) with no SQL or table text
    assert r.status == 409
    assert r.code == "E_CONFLICT"
    assert r.body["error"]["message"] == "the change conflicts with the current state"
    raw = json.dumps(r.body).lower()
    assert "unique" not in raw.replace("testapp_counter_name_key", "")
    assert "insert" not in raw and "sqlite" not in raw


# --- credentials ---------------------------------------------------------------------------------


@pytest.mark.parametrize("param", ["token", "access_token", "bearer", "authorization"])
def test_tokens_in_query_strings_are_ignored(client, alice, param):
    # given a valid token (alice's) placed in the query string instead of the header
    url = f"{API}web3.identity.whoami?{param}={alice.token}"

    # when whoami is called with GET and with POST, without an Authorization header
    got = client.get(url)
    posted = client.post(url, data="{}", content_type="application/json")

    # then the token is not used: the caller is anonymous (E_AUTH_REQUIRED)
    for r in (got, posted):
        assert r.status_code == 401
        assert json.loads(r.content)["error"]["code"] == "E_AUTH_REQUIRED"
    # and the header form of the same token works
    assert alice.call("web3.identity.whoami").result["actorId"] == alice.actor_id


@pytest.mark.parametrize(
    "header", ["Basic abc", "Bearer", "Bearer ", "Bearer nonsense", "Token ocw_x", "Bearer ocw_" + "A" * 43]
)
def test_bad_authorization_headers_are_auth_required(client, header, db):
    r = client.post(
        API + "web3.identity.whoami", data="{}", content_type="application/json", headers={"Authorization": header}
    )
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer ")
    assert json.loads(r.content)["error"]["code"] == "E_AUTH_REQUIRED"


# --- console sessions and CSRF ----------------------------------------------------------------------


@pytest.fixture
def console_user(db):
    user = get_user_model().objects.create_user(username="clerk", password="pw-not-used-here")
    ConsoleActor.objects.create(user=user, actor_id="0x" + "c1" * 20)
    return user


@pytest.fixture
def session_client(console_user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(console_user)
    return client


def csrf_token(client: Client) -> str:
    # The login page sets the csrftoken cookie, as a browser would receive it.
    client.get("/admin/login/")
    return client.cookies["csrftoken"].value


@pytest.mark.keypath
def test_session_user_linked_to_an_actor_can_call(session_client):
    # given a console user linked to an actor, signed in with a session cookie
    # when it calls a read-only method with GET
    r = Api(session_client).get("web3.identity.whoami")

    # then it acts as its actor (a session has no token expiry)
    assert r.status == 200
    assert r.result == {"actorId": "0x" + "c1" * 20, "roles": [], "expiresAt": None, "agent": None}


def test_session_post_without_csrf_token_is_forbidden(session_client):
    # given a signed-in console session and no CSRF token
    # when it POSTs a mutating method
    r = Api(session_client).call("web3.test.increment", {"name": "csrf"})

    # then it is E_FORBIDDEN and nothing changed
    assert r.status == 403
    assert r.code == "E_FORBIDDEN"
    assert counter_value("csrf") is None


def test_session_post_with_wrong_csrf_token_is_forbidden(session_client):
    csrf_token(session_client)
    r = Api(session_client).call("web3.test.increment", {"name": "csrf"}, headers={"X-CSRFToken": "x" * 32})
    assert r.status == 403
    assert r.code == "E_FORBIDDEN"
    assert counter_value("csrf") is None


@pytest.mark.keypath
def test_session_post_with_csrf_token_succeeds(session_client):
    # given a signed-in console session holding the csrftoken cookie
    token = csrf_token(session_client)

    # when it POSTs with the token in X-CSRFToken
    r = Api(session_client).call("web3.test.increment", {"name": "csrf"}, headers={"X-CSRFToken": token})

    # then the call runs as the linked actor
    assert r.status == 200
    assert r.result == {"name": "csrf", "value": 1}
    assert counter_value("csrf") == 1


def test_staff_console_user_has_the_staff_role(console_user, session_client):
    console_user.is_staff = True
    console_user.save()
    r = Api(session_client).get("web3.identity.whoami")
    assert r.result["roles"] == ["staff"]


def test_session_user_without_actor_link_is_forbidden(db):
    # given a signed-in console user that is not linked to an actor
    user = get_user_model().objects.create_user(username="unlinked", password="pw-not-used-here")
    client = Client()
    client.force_login(user)

    # when it calls a method that needs an actor
    r = Api(client).get("web3.identity.whoami")

    # then it is refused: every action must have an actor
    assert r.status == 403
    assert r.code == "E_FORBIDDEN"


def test_bearer_token_wins_over_session_and_needs_no_csrf(session_client, alice):
    # given a client that has both a console session and alice's bearer token
    api = Api(session_client, alice.token)

    # when it POSTs without a CSRF token
    r = api.call("web3.test.increment", {"name": "bearer"})

    # then the bearer token is used (a token is not ambient authority: no CSRF applies)
    assert r.status == 200
    assert api.call("web3.identity.whoami").result["actorId"] == alice.actor_id
