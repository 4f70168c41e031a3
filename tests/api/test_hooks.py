"""web3.hooks.ingest and web3.audit.query {sessionId} through the gateway: the hook trail keeps no secret
(a canary API key and file path are absent from every output, log line, audit payload and archive
object), its events are sealed with proofs that verify offline, and its limits hold."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from pathlib import Path

import pytest
from django.core.files.storage import storages
from eth_account import Account
from multiformats import CID, multihash

from market.archive_store import blob_read
from market.audit.checkpoints import seal_sweep
from market.audit.proofs import verify_proof
from market.ids import new_id
from market.models import ArchiveObject, AuditEvent
from tests.task_support import fund
from tests.wallet_support import agent_api

CANARY_KEY = "sk-canary" + "Hk29Vd7Qx1Lm5Pw3"
CANARY_PATH = "/home/canary-user/.openclaw/agent-secrets.json"
CHECKPOINT_SIGNER = Account.from_key("0x" + "4c" * 32).address


def open_session(api) -> str:
    """A new prepaid session of `api`'s (funded for it)."""
    fund(api.actor_id, "1")
    return api.call("web3.sessions.open", {"budget": "1", "currency": "USDC", "ttlSec": 600}).result["sessionId"]


def hook(name: str, payload: dict, **extra) -> dict:
    return {"hook": name, "at": "2026-12-01T12:00:00Z", "payload": payload, **extra}


def canary_events() -> list[dict]:
    return [
        hook(
            "llm_input",
            {
                "model": "gpt-4o",
                "messages": [{"role": "user", "content": f"use the key {CANARY_KEY} on {CANARY_PATH}"}],
                "headers": {"Authorization": f"Bearer {CANARY_KEY}"},
            },
        ),
        hook("before_tool_call", {"args": {"path": CANARY_PATH, "api_key": CANARY_KEY}}, tool="fs.read"),
        hook(
            "after_tool_call",
            {"result": f"read 12 bytes from {CANARY_PATH}", CANARY_KEY: "as a key"},
            tool="fs.read",
            cost={"amount": "0.002", "currency": "USDC"},
        ),
        hook("llm_output", {"content": "done; I will not repeat the key"}),
        hook("session_end", {"reason": "finished"}),
    ]


def assert_no_canary(text: str | bytes) -> None:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    for canary in (CANARY_KEY, CANARY_PATH, "canary-user", "Hk29Vd7Qx1Lm5Pw3"):
        assert canary not in text


@pytest.mark.keypath
def test_the_trail_keeps_no_secret_and_is_sealed_with_verifiable_proofs(sign_in, settings, caplog):
    # given
    caplog.set_level(logging.DEBUG)
    agent, stranger = sign_in(), sign_in()
    session_id = open_session(agent)
    # when
    ingested = agent.call("web3.hooks.ingest", {"sessionId": session_id, "events": canary_events()})
    unsealed = agent.get("web3.audit.query", {"sessionId": session_id}).result
    seal_sweep()
    trail = agent.get("web3.audit.query", {"sessionId": session_id}).result
    # then: one item per event, each the archive object of its redacted canonical payload
    items = ingested.result["items"]
    assert len(items) == 5
    outputs = [json.dumps(ingested.body), json.dumps(unsealed), json.dumps(trail)]
    for item in items:
        got = agent.get("web3.archive.get", {"cid": item["cid"]}).result
        content = base64.b64decode(got["contentBase64"])
        outputs.append(json.dumps(got))
        assert item["hash"] == "sha256:" + hashlib.sha256(content).hexdigest()
        assert item["cid"] == str(CID("base32", 1, "raw", multihash.digest(content, "sha2-256")))
        assert got["mediaType"] == "application/json"
        assert_no_canary(content)
    first = json.loads(
        base64.b64decode(agent.get("web3.archive.get", {"cid": items[0]["cid"]}).result["contentBase64"])
    )
    assert first["headers"] == {"Authorization": "[redacted]"}
    assert first["messages"][0]["content"] == "use the key [redacted:api_key] on [redacted:file_path]"
    assert [i["redactions"] for i in items] == [3, 2, 2, 0, 0]
    # then: the audit events keep the hash, the cid and minimal metadata only
    events = {e.event_id: e for e in AuditEvent.objects.filter(object_type="session", object_id=session_id)}
    assert [events[i["eventId"]].action for i in items] == [
        "hook.llm_input",
        "hook.before_tool_call",
        "hook.after_tool_call",
        "hook.llm_output",
        "hook.session_end",
    ]
    third = json.loads(events[items[2]["eventId"]].payload)
    assert third == {
        "hook": "after_tool_call",
        "at": "2026-12-01T12:00:00Z",
        "tool": "fs.read",
        "bytes": third["bytes"],
        "redactions": 2,
        "cost": {"amount": "0.002000", "currency": "USDC"},
        "contentSha256": items[2]["hash"].removeprefix("sha256:"),
        "cid": items[2]["cid"],
    }
    # then: the trail lists the events newest first, unsealed without proofs, then sealed with them
    assert [e["eventId"] for e in trail["items"]] == [i["eventId"] for i in reversed(items)]
    assert all(e["proof"] is None and not e["sealed"] for e in unsealed["items"])
    for event in trail["items"]:
        assert event["sealed"]
        assert event["proof"]["event"]["eventId"] == event["eventId"]
        verify_proof(event["proof"], trusted_signer=CHECKPOINT_SIGNER)
    # then: the canary is nowhere: outputs, logs, audit payloads, archive objects at rest and decrypted
    for text in outputs:
        assert_no_canary(text)
    assert_no_canary("\n".join(r.getMessage() for r in caplog.records))
    assert_no_canary("".join(AuditEvent.objects.values_list("payload", flat=True)))
    for cid in ArchiveObject.objects.values_list("cid", flat=True):
        assert_no_canary(blob_read(cid))
    root = Path(storages["archive"].location)
    for blob in root.rglob("*"):
        if blob.is_file():
            assert_no_canary(blob.read_bytes())
    # then: the session is the agent's alone
    assert stranger.call("web3.hooks.ingest", {"sessionId": session_id, "events": [hook("llm_output", {})]}).code == (
        "E_NOT_FOUND"
    )
    assert stranger.get("web3.audit.query", {"sessionId": session_id}).code == "E_NOT_FOUND"
    assert stranger.get("web3.archive.get", {"cid": items[0]["cid"]}).code == "E_NOT_FOUND"
    assert agent.get("web3.audit.query", {"sessionId": new_id("ses")}).code == "E_NOT_FOUND"


def test_the_trail_filters_and_pages_like_every_audit_query(sign_in):
    # given
    agent = sign_in()
    session_id, other = open_session(agent), open_session(agent)
    agent.call(
        "web3.hooks.ingest", {"sessionId": session_id, "events": [hook("llm_input", {"n": i}) for i in range(3)]}
    )
    agent.call("web3.hooks.ingest", {"sessionId": other, "events": [hook("llm_input", {"n": 9})]})
    # when
    page = agent.get("web3.audit.query", {"sessionId": session_id, "limit": 2}).result
    rest = agent.get("web3.audit.query", {"sessionId": session_id, "limit": 2, "cursor": page["nextCursor"]}).result
    everything = agent.get("web3.audit.query", {}).result
    # then
    assert len(page["items"]) == 2 and len(rest["items"]) == 1 and rest["nextCursor"] is None
    assert {(e["objectId"], e["action"]) for e in page["items"] + rest["items"]} == {(session_id, "hook.llm_input")}
    hooks = [e for e in everything["items"] if e["action"].startswith("hook.")]
    assert len(hooks) == 4 and all(e["proof"] is None for e in everything["items"])


def test_a_batch_is_at_most_the_documented_size_and_taken_whole_or_not_at_all(sign_in, settings, anon):
    # given
    agent = sign_in()
    session_id = open_session(agent)
    described = anon.call("web3.capabilities.describe", {"name": "web3.hooks.ingest"}).result
    limit = described["paramsSchema"]["properties"]["events"]["maxItems"]
    settings.WEB3_HOOKS_MAX_PAYLOAD_BYTES = 64

    def ingest(events):
        return agent.call("web3.hooks.ingest", {"sessionId": session_id, "events": events})

    # when
    too_many = ingest([hook("llm_input", {})] * (limit + 1))
    none = ingest([])
    too_big = ingest([hook("llm_input", {}), hook("llm_output", {"text": "x" * 64})])
    # then
    assert limit == settings.WEB3_HOOKS_MAX_BATCH == 100
    assert too_many.code == none.code == "E_INVALID_ARGUMENT"
    assert too_big.code == "E_INVALID_ARGUMENT"
    assert too_big.body["error"]["details"]["fields"] == {
        "events.payload": "event 1: at most 64 bytes as canonical JSON"
    }
    assert not AuditEvent.objects.filter(object_type="session", action__startswith="hook.").exists()
    assert ingest([hook("llm_input", {})] * limit).ok


def test_a_sessions_trail_and_the_owners_archive_are_capped(sign_in, settings):
    # given
    agent = sign_in()
    session_id = open_session(agent)
    settings.WEB3_HOOKS_MAX_EVENTS_PER_SESSION = 3
    settings.WEB3_ARCHIVE_QUOTA_BYTES = 60

    def ingest(events, sid=session_id):
        return agent.call("web3.hooks.ingest", {"sessionId": sid, "events": events})

    # when
    fits = ingest([hook("llm_input", {"n": 1}), hook("llm_input", {"n": 1})])  # one object of 7 bytes
    over_session = ingest([hook("llm_input", {"n": 2})] * 2)
    over_quota = ingest([hook("llm_input", {"text": "y" * 60})], sid=open_session(agent))
    # then
    assert fits.ok and fits.result["items"][0]["cid"] == fits.result["items"][1]["cid"]
    assert over_session.code == "E_QUOTA_EXCEEDED"
    assert over_session.body["error"]["details"] == {"quota": 3, "used": 2, "needed": 2}
    assert over_quota.code == "E_QUOTA_EXCEEDED" and over_quota.body["error"]["details"]["quota"] == 60


@pytest.mark.parametrize(
    "event",
    [
        {"hook": "on_error", "at": "2026-12-01T12:00:00Z", "payload": {}},
        {"hook": "llm_input", "at": "yesterday", "payload": {}},
        {"hook": "llm_input", "at": "2026-12-01T12:00:00Z", "payload": ["not", "an", "object"]},
        {"hook": "llm_input", "at": "2026-12-01T12:00:00Z", "payload": {"n": 2**60}},
        {"hook": "llm_input", "at": "2026-12-01T12:00:00Z", "payload": {}, "tool": "/bin/sh"},
        {"hook": "llm_input", "at": "2026-12-01T12:00:00Z", "payload": {}, "cost": {"amount": 1, "currency": "USDC"}},
        {"hook": "llm_input", "at": "2026-12-01T12:00:00Z", "payload": {}, "extra": True},
    ],
)
def test_events_are_strict(sign_in, event):
    agent = sign_in()
    refused = agent.call("web3.hooks.ingest", {"sessionId": open_session(agent), "events": [event]})
    assert refused.code == "E_INVALID_ARGUMENT"


def test_a_tool_name_that_looks_like_a_secret_is_kept_redacted(sign_in):
    # given
    agent = sign_in()
    session_id = open_session(agent)
    # when
    event_id = agent.call(
        "web3.hooks.ingest", {"sessionId": session_id, "events": [hook("before_tool_call", {}, tool=CANARY_KEY)]}
    ).result["items"][0]["eventId"]
    # then
    payload = json.loads(AuditEvent.objects.get(event_id=event_id).payload)
    assert payload["tool"] == "[redacted]"


def test_an_agent_token_keeps_the_trail_of_its_own_sessions_only(sign_in):
    # given
    owner = sign_in()
    fund(owner.actor_id, "5")
    scopes = ("web3.sessions.*", "web3.hooks.*", "web3.audit.query", "web3.archive.get")
    agent, other = agent_api(owner, scopes=scopes), agent_api(owner, scopes=scopes, label="other")
    session_id = agent.call("web3.sessions.open", {"budget": "1", "currency": "USDC", "ttlSec": 600}).result[
        "sessionId"
    ]
    events = {"sessionId": session_id, "events": [hook("llm_input", {"q": "hi"})]}
    # when
    ingested = agent.call("web3.hooks.ingest", events)
    by_other = other.call("web3.hooks.ingest", events)
    # then
    assert ingested.ok and by_other.code == "E_NOT_FOUND"
    assert other.get("web3.audit.query", {"sessionId": session_id}).code == "E_NOT_FOUND"
    trail = owner.get("web3.audit.query", {"sessionId": session_id}).result["items"]
    assert [e["eventId"] for e in trail] == [ingested.result["items"][0]["eventId"]]
    payload = json.loads(trail[0]["payload"])
    assert payload["agent"]["label"] == "butler" and payload["agent"]["owner"] == owner.actor_id
    assert owner.get("web3.archive.get", {"cid": ingested.result["items"][0]["cid"]}).ok
