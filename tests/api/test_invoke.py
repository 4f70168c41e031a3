"""web3.resources.invoke against a real provider on loopback: metering, reservations, policy,
provider failures (nothing charged) and the SSRF guard."""

import base64
import hashlib
import json
import socket
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from market import outbound
from market.audit.verify import problems
from market.errors import Unavailable
from market.models import Invocation, Lease
from tests.provider_server import ProviderServer
from tests.resource_helpers import USDC, bal, counts, fund, publish


@pytest.fixture
def provider_server():
    with ProviderServer() as server:
        yield server


@pytest.fixture
def parties(sign_in):
    provider, consumer = sign_in(), sign_in()
    fund(consumer.actor_id, 10)
    return provider, consumer


def _lease(provider, consumer, server, *, max_cost="1", **pub):
    r = publish(provider, server, accessToken="provider-secret-token", **pub).result
    lease = consumer.call(
        "web3.leases.issue", {"resourceId": r["resourceId"], "maxCost": max_cost, "ttlSec": 600}
    ).result
    return r, lease


def _invoke(api, lease, data):
    return api.call("web3.resources.invoke", {"leaseId": lease["leaseId"], "input": data})


@pytest.mark.keypath
def test_search_queries_are_charged_per_query_until_the_budget_is_spent(parties, provider_server):
    provider, consumer = parties
    _, lease = _lease(provider, consumer, provider_server, max_cost="0.03", price="0.010000")
    # when
    results = [_invoke(consumer, lease, {"q": f"query {i}", "language": "en"}) for i in range(3)]
    # then
    out = results[0].result
    assert out["output"]["query"] == "query 0"
    assert out["usage"] == {"units": 1, "cost": "0.010000", "reportedUnits": 1, "billedUnits": 1}
    assert [r.result["lease"]["spent"] for r in results] == ["0.010000", "0.020000", "0.030000"]
    assert results[-1].result["lease"]["status"] == "lease_exhausted"
    sent = provider_server.state.requests[0]
    assert sent["path"] == "/search" and sent["query"]["format"] == ["json"] and sent["query"]["language"] == ["en"]
    assert sent["headers"]["Authorization"] == "Bearer provider-secret-token"
    assert bal(provider.actor_id) == (30_000, 0)
    assert bal(consumer.actor_id) == (10 * USDC - 30_000, 0)
    refused = _invoke(consumer, lease, {"q": "one more"})
    assert (refused.status, refused.code) == (410, "E_REVOKED")
    entries = consumer.call("web3.ledger.list", {"leaseId": lease["leaseId"]}).result["items"]
    proxy = [e for e in entries if e["source"] == "proxy"]
    assert len(proxy) == 3 and all(e["usageRef"].startswith("inv_") and e["units"] == 1 for e in proxy)
    assert list(problems()) == []


@pytest.mark.keypath
def test_tokens_are_metered_from_the_reported_usage_and_capped_by_the_reservation(parties, provider_server):
    provider, consumer = parties
    _, lease = _lease(
        provider,
        consumer,
        provider_server,
        kind="model",
        backend="openai-compat",
        unit="token",
        price="2.000000",
        policy={"maxTokens": 50},
    )
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 100}
    # when: the provider reports 42 tokens
    first = _invoke(consumer, lease, body).result
    # then: 42 x 2.00 per 1e6 = 0.000084; max_tokens was capped to 50 on the way out
    assert first["usage"] == {"units": 42, "cost": "0.000084", "reportedUnits": 42, "billedUnits": 42}
    assert first["output"]["choices"][0]["message"]["content"] == "hello"
    assert json.loads(provider_server.state.requests[0]["body"])["max_tokens"] == 50
    # when: the provider reports more than the reservation (the body's 74 bytes of compact JSON bound
    # the prompt, plus the 50 tokens asked: 124 tokens -> 0.000248), or nothing at all
    provider_server.state.total_tokens = 5000
    over = _invoke(consumer, lease, body).result
    provider_server.state.total_tokens = None
    silent = _invoke(consumer, lease, body).result
    # then
    assert over["usage"]["cost"] == "0.000248"
    assert silent["usage"] == {"units": 124, "cost": "0.000248", "reportedUnits": None, "billedUnits": 124}
    assert silent["lease"]["spent"] == "0.000580"
    assert bal(provider.actor_id) == (580, 0)


def test_a_call_the_remaining_budget_cannot_cover_is_refused_and_creates_nothing(parties, provider_server):
    provider, consumer = parties
    _, lease = _lease(
        provider,
        consumer,
        provider_server,
        max_cost="0.00005",
        kind="model",
        backend="openai-compat",
        unit="token",
        price="2.000000",
        policy={"maxTokens": 50},
    )
    before = counts()
    res = _invoke(consumer, lease, {"messages": [{"role": "user", "content": "hi"}]})
    assert (res.status, res.code) == (402, "E_INSUFFICIENT_FUNDS")
    # (45 bytes of input bound the prompt, plus 50 tokens of policy.maxTokens: 95 x 2.00 per 1e6)
    assert res.body["error"]["details"] == {"remaining": "0.000050", "required": "0.000190"}
    assert counts() == before and provider_server.state.requests == []


@pytest.mark.parametrize("status", [500, 502, 503, 302, 401])
def test_provider_errors_are_unavailable_and_charge_nothing(parties, provider_server, status):
    provider, consumer = parties
    _, lease = _lease(provider, consumer, provider_server)
    provider_server.state.status = status
    before = counts()
    # when
    res = _invoke(consumer, lease, {"q": "x"})
    # then
    assert (res.status, res.code) == (503, "E_UNAVAILABLE")
    after = counts()
    assert {k: after[k] - before[k] for k in after} == {
        "leases": 0,
        "settlements": 0,
        "transfers": 0,
        "usage": 0,
        "invocations": 1,
    }
    assert Invocation.objects.get().status == "invocation_failed"
    assert bal(consumer.actor_id) == (9 * USDC, 1 * USDC)
    assert consumer.call("web3.leases.get", {"leaseId": lease["leaseId"]}).result["spent"] == "0.000000"


def test_a_slow_provider_is_a_timeout_and_charges_nothing(parties, provider_server, monkeypatch):
    provider, consumer = parties
    _, lease = _lease(provider, consumer, provider_server)
    monkeypatch.setattr(outbound, "READ_TIMEOUT_SEC", 0.2)
    provider_server.state.delay_sec = 3
    res = _invoke(consumer, lease, {"q": "x"})
    assert (res.status, res.code) == (504, "E_TIMEOUT")
    assert bal(consumer.actor_id) == (9 * USDC, 1 * USDC)
    assert Lease.objects.get().spent == 0


def test_a_provider_that_is_down_is_unavailable(parties):
    provider, consumer = parties
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    r = publish(provider, endpoint=f"http://127.0.0.1:{port}").result
    lease = consumer.call("web3.leases.issue", {"resourceId": r["resourceId"], "maxCost": "1", "ttlSec": 60}).result
    res = _invoke(consumer, lease, {"q": "x"})
    assert (res.status, res.code) == (503, "E_UNAVAILABLE")
    assert str(port) not in json.dumps(res.body)


def test_concurrency_is_counted_in_the_database_with_a_ttl(parties, provider_server):
    provider, consumer = parties
    _, lease = _lease(provider, consumer, provider_server, policy={"maxConcurrent": 1})
    row = Lease.objects.get()
    # given: one call of this lease still running (its reservation held in the database)
    Invocation.objects.create(
        invocation_id="inv_running", lease=row, resource=row.resource, reserved=10_000, started_at=timezone.now()
    )
    # when / then
    res = _invoke(consumer, lease, {"q": "x"})
    assert (res.status, res.code) == (429, "E_QUOTA_EXCEEDED")
    assert res.body["error"]["details"]["maxConcurrent"] == 1
    # when: its reservation has aged out (its process died), it no longer counts
    with time_machine.travel(timezone.now() + timedelta(seconds=121)):
        assert _invoke(consumer, lease, {"q": "x"}).result["usage"]["cost"] == "0.010000"


def test_policy_refuses_tools_and_bad_input(parties, provider_server):
    provider, consumer = parties
    _, lease = _lease(
        provider, consumer, provider_server, kind="model", backend="openai-compat", unit="call", price="0.1"
    )
    res = _invoke(consumer, lease, {"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]})
    assert (res.status, res.code) == (403, "E_FORBIDDEN")
    res = _invoke(consumer, lease, {"prompt": "x"})
    assert res.code == "E_INVALID_ARGUMENT" and "input" in res.body["error"]["details"]["fields"]
    res = consumer.call("web3.resources.invoke", {"leaseId": lease["leaseId"], "input": ["not", "an", "object"]})
    assert res.code == "E_INVALID_ARGUMENT"
    assert provider_server.state.requests == [] and Invocation.objects.count() == 0


def test_blob_put_and_get_are_charged_per_byte(parties, provider_server):
    provider, consumer = parties
    _, lease = _lease(
        provider,
        consumer,
        provider_server,
        kind="storage",
        backend="http-blob",
        unit="byte",
        price="1.000000",
        policy={"maxBytes": 4096, "allowMime": ["application/octet-stream"]},
    )
    content = b"x" * 1000
    digest = hashlib.sha256(content).hexdigest()
    put = _invoke(
        consumer, lease, {"op": "put", "sha256": digest, "contentBase64": base64.b64encode(content).decode()}
    ).result
    got = _invoke(consumer, lease, {"op": "get", "sha256": digest}).result
    assert put["usage"] == {"units": 1000, "cost": "0.001000", "reportedUnits": 1000, "billedUnits": 1000}
    assert got["usage"] == {"units": 1000, "cost": "0.001000", "reportedUnits": 1000, "billedUnits": 1000}
    assert base64.b64decode(got["output"]["contentBase64"]) == content
    encoded = base64.b64encode(content).decode()
    bad = _invoke(consumer, lease, {"op": "put", "sha256": "0" * 64, "contentBase64": encoded})
    assert bad.code == "E_INVALID_ARGUMENT"
    provider_server.state.blob_type = "text/html"
    refused = _invoke(consumer, lease, {"op": "get", "sha256": digest})
    assert refused.code == "E_FORBIDDEN"
    assert bal(provider.actor_id) == (2000, 0)


def test_custom_backend_posts_the_input(parties, provider_server):
    provider, consumer = parties
    _, lease = _lease(provider, consumer, provider_server, kind="search", backend="custom", unit="call", price="0")
    out = _invoke(consumer, lease, {"anything": [1, 2, 3]}).result
    assert out["output"] == {"echo": {"anything": [1, 2, 3]}, "path": "/custom"}
    assert out["usage"] == {"units": 1, "cost": "0.000000", "reportedUnits": 1, "billedUnits": 1}


# --- SSRF ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:8080/x",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest",
        "http://[::1]:9000/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ],
)
def test_private_endpoints_are_refused_at_publish_by_default(alice, settings, endpoint):
    settings.WEB3_ALLOW_PRIVATE_ENDPOINTS = False
    res = publish(alice, endpoint=endpoint)
    assert (res.status, res.code) == (400, "E_INVALID_ARGUMENT")
    assert "endpoint" in res.body["error"]["details"]["fields"]
    assert endpoint not in json.dumps(res.body)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1"])
def test_names_resolving_to_private_addresses_are_refused_at_call_time(
    parties, provider_server, settings, monkeypatch, address
):
    provider, consumer = parties
    settings.WEB3_ALLOW_PRIVATE_ENDPOINTS = False
    r = publish(provider, endpoint=f"http://provider.example.com:{provider_server.port}").result
    lease = consumer.call("web3.leases.issue", {"resourceId": r["resourceId"], "maxCost": "1", "ttlSec": 60}).result
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    monkeypatch.setattr(outbound, "_lookup", lambda host, port: [(family, socket.SOCK_STREAM, 6, "", (address, port))])
    # when
    res = _invoke(consumer, lease, {"q": "x"})
    # then: refused before any connection, nothing charged
    assert (res.status, res.code) == (503, "E_UNAVAILABLE")
    assert res.body["error"]["details"] == {"reason": "endpoint_refused"}
    assert provider_server.state.requests == []
    assert bal(consumer.actor_id) == (9 * USDC, 1 * USDC)


def test_only_the_listed_loopback_ports_are_let_through(parties, provider_server, settings, alice):
    # given private endpoints refused, and the provider's loopback port listed as allowed (the demo's setup)
    settings.WEB3_ALLOW_PRIVATE_ENDPOINTS = False
    settings.WEB3_ALLOW_LOOPBACK_PORTS = [provider_server.port]
    provider, consumer = parties

    # then that loopback port is published and called, by name and by address
    _, lease = _lease(provider, consumer, provider_server)
    assert _invoke(consumer, lease, {"q": "x"}).ok
    assert publish(alice, endpoint=f"http://localhost:{provider_server.port}/x").ok
    # and every other loopback port, and private addresses on the listed port, are still refused
    for endpoint in (
        "http://127.0.0.1:8080/x",
        f"http://10.0.0.1:{provider_server.port}/",
        f"http://169.254.169.254:{provider_server.port}/",
    ):
        res = publish(alice, endpoint=endpoint)
        assert (res.status, res.code) == (400, "E_INVALID_ARGUMENT"), endpoint


def test_the_checked_address_is_the_one_connected_to(provider_server, settings, monkeypatch):
    # given: a name whose resolution is checked once; the request must go to that address
    calls = []

    def resolve(host, port):
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(outbound, "_lookup", resolve)
    answer = outbound.call("GET", f"http://provider.example.com:{provider_server.port}/search", params={"q": "a"})
    assert answer.status == 200 and calls == ["provider.example.com"]
    assert provider_server.state.requests[0]["headers"]["Host"] == f"provider.example.com:{provider_server.port}"
    settings.WEB3_ALLOW_PRIVATE_ENDPOINTS = False
    with pytest.raises(Unavailable):
        outbound.call("GET", f"http://provider.example.com:{provider_server.port}/search")
    assert len(provider_server.state.requests) == 1


def test_a_retry_with_the_same_idempotency_key_is_charged_once(parties, provider_server):
    provider, consumer = parties
    _, lease = _lease(provider, consumer, provider_server)
    params = {"leaseId": lease["leaseId"], "input": {"q": "once"}}
    first = consumer.call("web3.resources.invoke", params, idempotency_key="k-1")
    second = consumer.call("web3.resources.invoke", params, idempotency_key="k-1")
    assert first.result == second.result and second.headers.get("Idempotent-Replayed") == "true"
    assert len(provider_server.state.requests) == 1
    assert bal(provider.actor_id) == (10_000, 0)


def test_a_lease_revoked_while_a_call_runs_is_not_charged(parties, provider_server):
    from market.services.invoke import invoke_reserve, invoke_settle
    from market.services.leases import lease_revoke

    provider, consumer = parties
    _, lease = _lease(provider, consumer, provider_server)
    # given: a call reserved, then the provider revokes before it is settled
    inv, _ = invoke_reserve(lease_id=lease["leaseId"], actor_id=consumer.actor_id, input={"q": "x"})
    lease_revoke(lease_id=lease["leaseId"], actor_id=provider.actor_id)
    # when
    inv, _, _, cost, refusal = invoke_settle(invocation_id=inv.invocation_id, units=1)
    # then
    assert (cost, refusal.code, inv.status) == (0, "E_REVOKED", "invocation_failed")
    assert bal(consumer.actor_id) == (10 * USDC, 0) and bal(provider.actor_id) == (0, 0)


def test_stale_pending_invocations_are_failed_by_the_sweep(parties, provider_server):
    from market.services.invoke import invocation_stale_sweep, invoke_reserve, invoke_settle

    provider, consumer = parties
    _, lease = _lease(provider, consumer, provider_server)
    inv, _ = invoke_reserve(lease_id=lease["leaseId"], actor_id=consumer.actor_id, input={"q": "x"})
    assert invocation_stale_sweep() == {"failed": 0}
    with time_machine.travel(timezone.now() + timedelta(seconds=121)):
        assert invocation_stale_sweep() == {"failed": 1}
        _, _, _, cost, refusal = invoke_settle(invocation_id=inv.invocation_id, units=1)
    assert (cost, refusal.code) == (0, "E_TIMEOUT")
    assert Invocation.objects.get().error_code == "E_TIMEOUT"


def test_the_provider_is_called_with_no_transaction_open(transactional_db, sign_in, provider_server, monkeypatch):
    from django.db import connection

    provider, consumer = sign_in(), sign_in()
    fund(consumer.actor_id, 1)
    _, lease = _lease(provider, consumer, provider_server)
    seen = []
    real = outbound.call

    def spy(*args, **kwargs):
        seen.append(connection.in_atomic_block)
        return real(*args, **kwargs)

    monkeypatch.setattr(outbound, "call", spy)
    assert _invoke(consumer, lease, {"q": "x"}).result["usage"]["cost"] == "0.010000"
    assert seen == [False]


def test_a_lease_keeps_the_policy_it_was_issued_with(parties, provider_server):
    provider, consumer = parties
    r, old = _lease(
        provider, consumer, provider_server, kind="model", backend="openai-compat", unit="call", price="0.1"
    )
    assert provider.call("web3.resources.update", {"resourceId": r["resourceId"], "policy": {"allowTools": True}}).ok
    new = consumer.call("web3.leases.issue", {"resourceId": r["resourceId"], "maxCost": "1", "ttlSec": 60}).result
    body = {"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]}
    assert _invoke(consumer, old, body).code == "E_FORBIDDEN"
    assert _invoke(consumer, new, body).result["usage"]["cost"] == "0.100000"


def test_an_answer_over_the_size_cap_is_refused_and_charges_nothing(parties, provider_server):
    provider, consumer = parties
    _, lease = _lease(
        provider,
        consumer,
        provider_server,
        kind="storage",
        backend="http-blob",
        unit="byte",
        price="1.000000",
        policy={"maxBytes": 4096},
    )
    big = b"y" * 5000
    digest = hashlib.sha256(big).hexdigest()
    provider_server.state.blobs[digest] = big
    res = _invoke(consumer, lease, {"op": "get", "sha256": digest})
    assert (res.status, res.code) == (503, "E_UNAVAILABLE")
    assert res.body["error"]["details"] == {"maxBytes": 4096}
    assert bal(consumer.actor_id) == (9 * USDC, 1 * USDC) and bal(provider.actor_id) == (0, 0)


@pytest.mark.parametrize("depth", [10_000, 65])
def test_an_answer_nested_too_deep_is_unavailable_and_charges_nothing(parties, provider_server, settings, depth):
    # given a provider that answers JSON nested deeper than WEB3_MAX_JSON_DEPTH (64)
    provider, consumer = parties
    _, lease = _lease(provider, consumer, provider_server, kind="search", backend="custom", unit="call", price="0.1")
    provider_server.state.answer = ("[" * depth + "]" * depth).encode()
    before = counts()
    # when the consumer invokes it
    res = _invoke(consumer, lease, {"q": "x"})
    # then it is refused as a bad provider answer, with the limit, and nothing is charged
    assert (res.status, res.code) == (503, "E_UNAVAILABLE")
    assert res.body["error"]["details"] == {"maxDepth": settings.WEB3_MAX_JSON_DEPTH}
    after = counts()
    assert {k: after[k] - before[k] for k in after} == {
        "leases": 0,
        "settlements": 0,
        "transfers": 0,
        "usage": 0,
        "invocations": 1,
    }
    assert Invocation.objects.get().status == "invocation_failed"
    assert consumer.call("web3.leases.get", {"leaseId": lease["leaseId"]}).result["spent"] == "0.000000"


def test_an_answer_at_the_depth_limit_is_passed_on(parties, provider_server, settings):
    # given a provider answer nested exactly WEB3_MAX_JSON_DEPTH deep
    provider, consumer = parties
    _, lease = _lease(provider, consumer, provider_server, kind="search", backend="custom", unit="call", price="0.1")
    depth = settings.WEB3_MAX_JSON_DEPTH
    provider_server.state.answer = ("[" * depth + "]" * depth).encode()
    # when invoked, then the answer is the output and the call is charged
    out = _invoke(consumer, lease, {"q": "x"}).result
    value, levels = out["output"], 1
    while value:
        value, levels = value[0], levels + 1
    assert levels == depth
    assert out["usage"]["cost"] == "0.100000"
