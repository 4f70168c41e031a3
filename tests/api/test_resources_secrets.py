"""Gate-SEC-01 canary: a resource's endpoint and token appear in no output surface, whatever is
called and whatever fails: method results and errors, capability descriptions, logs, audit
payloads and the admin pages."""

import io
import json
import logging
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from market import outbound
from market.hashing import object_hash
from market.models import AuditEvent, Invocation, Lease, Resource
from tests.conftest import sign
from tests.provider_server import ProviderServer
from tests.resource_helpers import fund

METHODS = [
    "web3.resources.publish",
    "web3.resources.update",
    "web3.resources.unpublish",
    "web3.resources.get",
    "web3.resources.list",
    "web3.resources.invoke",
    "web3.leases.issue",
    "web3.leases.get",
    "web3.leases.list",
    "web3.leases.revoke",
    "web3.ledger.append",
    "web3.ledger.list",
    "web3.settlement.status",
    "web3.index.report",
    "web3.index.list",
    "web3.index.health",
    "web3.index.reputation",
    "web3.status.summary",
]


@pytest.mark.keypath
def test_no_surface_shows_an_endpoint_or_token(sign_in, anon, client, caplog, monkeypatch, settings):
    caplog.set_level(logging.DEBUG)
    provider, consumer = sign_in(), sign_in()
    fund(consumer.actor_id, 10)
    canary = uuid.uuid4().hex
    token, token2 = f"tok-{canary}", f"tok2-{canary}"
    responses = []

    def call(api, name, params):
        res = api.call(name, params)
        responses.append(res.body)
        return res

    with ProviderServer() as server:
        path = f"/canary-{canary}/v1"
        endpoint = f"{server.base}{path}"
        needles = [token, token2, canary, f"127.0.0.1:{server.port}", path]
        # successes
        r = call(
            provider,
            "web3.resources.publish",
            {
                "kind": "model",
                "name": "canary",
                "backend": "openai-compat",
                "endpoint": endpoint,
                "accessToken": token,
                "pricing": {"unit": "call", "unitPrice": "0.01", "currency": "USDC"},
                "tags": ["canary"],
            },
        ).result
        rid = r["resourceId"]
        call(provider, "web3.resources.update", {"resourceId": rid, "accessToken": token2, "endpoint": endpoint})
        call(consumer, "web3.resources.get", {"resourceId": rid})
        call(consumer, "web3.resources.list", {"tag": "canary"})
        lease = call(consumer, "web3.leases.issue", {"resourceId": rid, "maxCost": "1", "ttlSec": 600}).result
        lid = lease["leaseId"]
        body = {"messages": [{"role": "user", "content": "hi"}]}
        assert call(consumer, "web3.resources.invoke", {"leaseId": lid, "input": body}).ok
        assert server.state.requests[-1]["headers"]["Authorization"] == f"Bearer {token2}"
        call(provider, "web3.ledger.append", {"leaseId": lid, "units": 1, "usageRef": "u1"})
        call(consumer, "web3.leases.get", {"leaseId": lid})
        call(provider, "web3.leases.list", {})
        call(consumer, "web3.ledger.list", {"leaseId": lid})
        call(consumer, "web3.settlement.status", {"settlementId": lease["settlementId"]})
        entry = {
            "resourceId": rid,
            "pricing": r["pricing"],
            "tags": r["tags"],
            "reportedAt": timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        call(
            provider,
            "web3.index.report",
            {"resourceId": rid, "entry": entry, "signature": sign(provider.account, object_hash(entry))},
        )
        call(consumer, "web3.index.list", {})
        call(consumer, "web3.index.health", {"resourceId": rid})
        call(consumer, "web3.index.reputation", {"actorId": provider.actor_id})
        call(consumer, "web3.status.summary", {})
        # failures: provider errors, timeout, unreachable, bad and refused endpoints, policy, visibility
        server.state.status = 500
        assert call(consumer, "web3.resources.invoke", {"leaseId": lid, "input": body}).code == "E_UNAVAILABLE"
        server.state.status = 200
        monkeypatch.setattr(outbound, "READ_TIMEOUT_SEC", 0.2)
        server.state.delay_sec = 2
        assert call(consumer, "web3.resources.invoke", {"leaseId": lid, "input": body}).code == "E_TIMEOUT"
        server.state.delay_sec = 0
        assert (
            call(consumer, "web3.resources.invoke", {"leaseId": lid, "input": {"prompt": 1}}).code
            == "E_INVALID_ARGUMENT"
        )
        assert call(provider, "web3.resources.invoke", {"leaseId": lid, "input": body}).code == "E_FORBIDDEN"
        assert call(consumer, "web3.ledger.append", {"leaseId": lid, "units": 1, "usageRef": "x"}).code == "E_FORBIDDEN"
        assert (
            call(
                provider,
                "web3.resources.publish",
                {
                    "kind": "model",
                    "name": "bad",
                    "backend": "openai-compat",
                    "endpoint": f"ftp://127.0.0.1:{server.port}{path}",
                    "pricing": {"unit": "call", "unitPrice": "0.01", "currency": "USDC"},
                },
            ).code
            == "E_INVALID_ARGUMENT"
        )
        assert (
            call(
                provider,
                "web3.resources.publish",
                {
                    "kind": "model",
                    "name": "bad",
                    "backend": "openai-compat",
                    "endpoint": endpoint,
                    "accessToken": 5,
                    "pricing": {"unit": "call", "unitPrice": "0.01", "currency": "USDC"},
                },
            ).code
            == "E_INVALID_ARGUMENT"
        )
        settings.WEB3_ALLOW_PRIVATE_ENDPOINTS = False
        assert (
            call(
                provider,
                "web3.resources.publish",
                {
                    "kind": "model",
                    "name": "ssrf",
                    "backend": "openai-compat",
                    "endpoint": endpoint,
                    "pricing": {"unit": "call", "unitPrice": "0.01", "currency": "USDC"},
                },
            ).code
            == "E_INVALID_ARGUMENT"
        )
        assert call(consumer, "web3.resources.invoke", {"leaseId": lid, "input": body}).code == "E_UNAVAILABLE"
        settings.WEB3_ALLOW_PRIVATE_ENDPOINTS = True
        call(provider, "web3.resources.unpublish", {"resourceId": rid})
        call(consumer, "web3.leases.revoke", {"leaseId": lid})
        server.httpd.shutdown()
        server.httpd.server_close()
        assert call(consumer, "web3.leases.revoke", {"leaseId": lid}).code == "E_REVOKED"
    # an unreachable provider
    r2 = call(
        provider,
        "web3.resources.publish",
        {
            "kind": "search",
            "name": "down",
            "backend": "searxng",
            "endpoint": endpoint,
            "accessToken": token,
            "pricing": {"unit": "query", "unitPrice": "0.01", "currency": "USDC"},
        },
    ).result
    lease2 = call(consumer, "web3.leases.issue", {"resourceId": r2["resourceId"], "maxCost": "1", "ttlSec": 60}).result
    assert (
        call(consumer, "web3.resources.invoke", {"leaseId": lease2["leaseId"], "input": {"q": "x"}}).code
        == "E_UNAVAILABLE"
    )

    # capability descriptions
    for name in METHODS:
        responses.append(anon.call("web3.capabilities.describe", {"name": name}).body)
    # admin pages
    admin_user = get_user_model().objects.create_superuser(username="root", email="", password="pw-unused-x")
    client.force_login(admin_user)
    pages = []
    for model, objs in [
        ("resource", Resource.objects.all()),
        ("lease", Lease.objects.all()),
        ("invocation", Invocation.objects.all()),
        ("auditevent", AuditEvent.objects.all()[:50]),
    ]:
        pages.append(client.get(f"/admin/market/{model}/").content.decode())
        for obj in objs:
            page = client.get(f"/admin/market/{model}/{obj.pk}/change/")
            assert page.status_code == 200
            pages.append(page.content.decode())
    for name in ("usageentry", "indexreport", "transfer", "settlement"):
        pages.append(client.get(f"/admin/market/{name}/").content.decode())

    # operator commands
    commands = io.StringIO()
    call_command("run_sweeps", stdout=commands, stderr=commands)
    try:
        call_command("verify_audit", stdout=commands, stderr=commands)
    except CommandError as exc:
        commands.write(str(exc))

    surfaces = {
        "commands": commands.getvalue(),
        "responses": json.dumps(responses),
        "logs": caplog.text + json.dumps([str(r.args) for r in caplog.records]),
        "audit": json.dumps(list(AuditEvent.objects.values_list("payload", flat=True))),
        "admin": "\n".join(pages),
    }
    hits = {(where, needle) for where, text in surfaces.items() for needle in needles if needle in text}
    assert hits == set()
    assert len(responses) > 40 and AuditEvent.objects.count() > 10
