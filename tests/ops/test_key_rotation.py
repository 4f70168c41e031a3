"""Rotating the secrets key: `rotate_secrets` re-encrypts the providers' endpoints and tokens and the
archive's objects; old and new keys both work meanwhile; a second run finds nothing to do; the output
shows counts only."""

from __future__ import annotations

import base64
import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from market.audit.verify import problems
from market.models import AuditEvent, Resource
from market.secrets import reseal
from tests.provider_server import ProviderServer
from tests.resource_helpers import fund

NEW_KEY = Fernet.generate_key().decode()
BODY = {"messages": [{"role": "user", "content": "hi"}]}


def rotate_secrets() -> str:
    out = io.StringIO()
    call_command("rotate_secrets", stdout=out)
    return out.getvalue()


def publish(provider, server, token: str) -> str:
    params = {
        "kind": "model",
        "name": "rotation",
        "backend": "openai-compat",
        "endpoint": f"{server.base}/v1",
        "accessToken": token,
        "pricing": {"unit": "call", "unitPrice": "0.01", "currency": "USDC"},
    }
    return provider.call("web3.resources.publish", params).result["resourceId"]


def invoke(consumer, server, rid: str) -> str:
    lease = consumer.call("web3.leases.issue", {"resourceId": rid, "maxCost": "1", "ttlSec": 600}).result
    assert consumer.call("web3.resources.invoke", {"leaseId": lease["leaseId"], "input": BODY}).ok
    return server.state.requests[-1]["headers"]["Authorization"]


@pytest.mark.keypath
def test_rotate_secrets_reencrypts_everything_once_and_both_keys_work_meanwhile(sign_in, settings):
    provider, consumer = sign_in(), sign_in()
    fund(consumer.actor_id, 10)
    old_key = settings.WEB3_SECRETS_KEY
    with ProviderServer() as server:
        # given: two resources and an archive object under the old key
        rids = [publish(provider, server, f"tok-{i}-rotation-canary") for i in range(2)]
        data = b"archived before the rotation"
        cid = provider.call(
            "web3.archive.put", {"contentBase64": base64.b64encode(data).decode(), "mediaType": "text/plain"}
        ).result["cid"]

        # when: the new key is configured with the old one still accepted
        settings.WEB3_SECRETS_KEY, settings.WEB3_SECRETS_KEY_OLD = NEW_KEY, [old_key]
        # then: old tokens still work, new ones are written with the new key
        assert invoke(consumer, server, rids[0]) == "Bearer tok-0-rotation-canary"
        rids.append(publish(provider, server, "tok-2-rotation-canary"))
        # and one resource was already rotated by an earlier, interrupted run
        r = Resource.objects.get(resource_id=rids[1])
        r.endpoint_sealed = reseal(r.endpoint_sealed.encode()).decode()
        r.save(update_fields=["endpoint_sealed"])

        out = rotate_secrets()
        assert "provider secrets: 3/3 checked, 2 re-encrypted, 1 already current" in out
        assert "archive objects: 1/1 checked, 1 re-encrypted, 0 already current" in out
        for needle in ("rotation-canary", "127.0.0.1", old_key, NEW_KEY, "gAAAA", str(settings.VAR_DIR)):
            assert needle not in out
        rotated = AuditEvent.objects.get(action="secrets.rotated")
        assert "rotation-canary" not in rotated.payload and "gAAAA" not in rotated.payload

        # then: with the old key gone everything still reads
        settings.WEB3_SECRETS_KEY_OLD = []
        assert [invoke(consumer, server, rid) for rid in rids] == [f"Bearer tok-{i}-rotation-canary" for i in range(3)]
        got = provider.get("web3.archive.get", {"cid": cid}).result
        assert base64.b64decode(got["contentBase64"]) == data

        # and a second run has nothing to do and records nothing
        again = rotate_secrets()
        assert "provider secrets: 3/3 checked, 0 re-encrypted, 3 already current" in again
        assert "archive objects: 1/1 checked, 0 re-encrypted, 1 already current" in again
        assert AuditEvent.objects.filter(action="secrets.rotated").count() == 1

        # a value under neither key is refused, not returned
        settings.WEB3_SECRETS_KEY = Fernet.generate_key().decode()
        lease = consumer.call("web3.leases.issue", {"resourceId": rids[0], "maxCost": "1", "ttlSec": 600}).result
        failed = consumer.call("web3.resources.invoke", {"leaseId": lease["leaseId"], "input": BODY})
        assert not failed.ok and "rotation-canary" not in str(failed.body)
    settings.WEB3_SECRETS_KEY = NEW_KEY
    assert list(problems()) == []
