"""web3.audit.query, web3.audit.trace and web3.audit.proof through the HTTP gateway, and the
`audit` part of web3.status.summary."""

import json

import pytest
from eth_account import Account

from market.audit.anchoring import anchor_sweep
from market.audit.checkpoints import checkpoint_signer, seal_sweep
from market.audit.proofs import verify_proof
from market.services import escrow as escrow_services
from market.services import ledger


@pytest.fixture
def escrow(sign_in):
    """alice deposits 5 USDC and locks 2 for bob: three events (deposit, lock) alice or bob are party to."""
    alice, bob = sign_in(), sign_in()
    ledger.deposit(actor_id=alice.actor_id, amount=5_000_000, currency="USDC")
    settlement = escrow_services.escrow_lock(
        payer_actor_id=alice.actor_id,
        payee_actor_id=bob.actor_id,
        amount=2_000_000,
        currency="USDC",
        by_actor_id=alice.actor_id,
    )
    return alice, bob, settlement


def test_query_lists_the_callers_events_newest_first_with_their_sealing(escrow, sign_in, staff):
    # given
    alice, bob, settlement = escrow
    # when
    before = alice.call("web3.audit.query", {}).result
    seal_sweep()
    after = alice.get("web3.audit.query", {"limit": 1}).result
    # then
    assert [(e["action"], e["objectType"], e["sealed"]) for e in before["items"]] == [
        ("settlement.lock", "settlement", False),
        ("ledger.deposit", "transfer", False),
    ]
    assert before["nextCursor"] is None
    assert [e["action"] for e in after["items"]] == ["settlement.lock"] and after["items"][0]["sealed"]
    page2 = alice.call("web3.audit.query", {"limit": 1, "cursor": after["nextCursor"]}).result
    assert [e["action"] for e in page2["items"]] == ["ledger.deposit"]
    assert [e["action"] for e in bob.call("web3.audit.query", {}).result["items"]] == ["settlement.lock"]
    assert sign_in().call("web3.audit.query", {}).result["items"] == []
    only = alice.call("web3.audit.query", {"objectType": "settlement", "objectId": settlement.settlement_id})
    assert [e["objectId"] for e in only.result["items"]] == [settlement.settlement_id]
    assert len(staff.call("web3.audit.query", {}).result["items"]) >= 2
    assert alice.call("web3.audit.query", {"since": "2999-01-01T00:00:00Z"}).result["items"] == []
    assert len(alice.call("web3.audit.query", {"since": "2000-01-01T00:00:00Z"}).result["items"]) == 2
    assert alice.call("web3.audit.query", {"since": "yesterday"}).code == "E_INVALID_ARGUMENT"


def test_trace_shows_an_objects_events_to_its_parties_only(escrow, sign_in):
    # given
    alice, bob, settlement = escrow
    params = {"objectType": "settlement", "objectId": settlement.settlement_id}
    # when
    trace = bob.call("web3.audit.trace", params)
    # then
    assert [e["action"] for e in trace.result["items"]] == ["settlement.lock"]
    assert trace.result["objectId"] == settlement.settlement_id
    assert sign_in().call("web3.audit.trace", params).code == "E_NOT_FOUND"
    assert alice.call("web3.audit.trace", {"objectType": "transfer", "objectId": "x"}).code == "E_INVALID_ARGUMENT"
    assert alice.call("web3.audit.trace", {**params, "extra": 1}).code == "E_INVALID_ARGUMENT"


@pytest.mark.keypath
def test_proof_is_a_conflict_until_sealed_then_verifies_offline(escrow, sign_in):
    # given
    alice, bob, settlement = escrow
    event_id = bob.call("web3.audit.query", {}).result["items"][0]["eventId"]
    # when
    unsealed = bob.call("web3.audit.proof", {"eventId": event_id})
    seal_sweep()
    sealed = bob.get("web3.audit.proof", {"eventId": event_id})
    # then
    assert (unsealed.status, unsealed.code) == (409, "E_CONFLICT")
    proof = sealed.result
    assert proof["anchor"] is None
    assert proof["leafIndex"] == proof["event"]["seq"]
    assert proof["checkpoint"]["signer"] == checkpoint_signer()
    verify_proof(proof, trusted_signer=Account.from_key("0x" + "4c" * 32).address)
    verify_proof(json.dumps(proof))
    assert sign_in().call("web3.audit.proof", {"eventId": event_id}).code == "E_NOT_FOUND"
    assert bob.call("web3.audit.proof", {"eventId": "evt_missing"}).code == "E_NOT_FOUND"


def test_describe_documents_the_proof_format(db, anon):
    described = anon.call("web3.capabilities.describe", {"name": "web3.audit.proof"}).result
    assert "openclaw-checkpoint/v1" in described["description"]
    assert "RFC 6962" in described["description"]
    assert set(described["errors"]) >= {"E_CONFLICT", "E_NOT_FOUND"}


def test_status_reports_the_audit_part_without_leaking_the_chain(escrow, settings, caplog):
    # given: a sealed checkpoint, one new event, and an anchoring node that refuses connections
    alice, bob, _ = escrow
    seal_sweep()
    ledger.deposit(actor_id=alice.actor_id, amount=1, currency="USDC")
    settings.WEB3_ANCHOR_RPC_URL = "http://anchor-user:hunter2@127.0.0.1:9/rpc"
    settings.WEB3_ANCHOR_PRIVATE_KEY = Account.create().key.hex()
    # when
    report = anchor_sweep()
    part = alice.call("web3.status.summary").result["parts"]["audit"]
    # then
    assert report == {"anchored": 0, "failed": 1, "waiting": 1}
    assert part["status"] == "degraded"
    assert part["message"].startswith("checkpoint 2 at ")
    assert (
        f" signed by {checkpoint_signer()}; 1 unsealed events; 1 checkpoints waiting for the chain (lag "
        in (part["message"])
    )
    assert part["message"].endswith("last anchor error: chain call failed (ConnectionError)")
    for secret in ("hunter2", "anchor-user", "127.0.0.1", "/rpc", settings.WEB3_ANCHOR_PRIVATE_KEY):
        assert secret not in part["message"] and secret not in caplog.text


def test_status_without_a_chain(alice):
    part = alice.call("web3.status.summary").result["parts"]["audit"]
    assert part == {"status": "ok", "message": "no checkpoint yet; 0 unsealed events; chain anchoring off"}
