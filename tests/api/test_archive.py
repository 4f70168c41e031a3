"""web3.archive.put and web3.archive.get through the gateway: content addresses as multiformats computes
them, encryption at rest, the storage chosen by setting, who may get an object, size caps, uploads
holding secrets, and task artifacts and dispute evidence that name a CID."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from django.core.files.storage import storages
from multiformats import CID, multihash

from market.models import ArchiveObject, AuditEvent
from tests.task_support import Flow, fund

CANARY = "sk-canary" + "Zq81Lx0Wm3Nb7Ty5"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def put(api, data: bytes, media_type: str = "application/octet-stream"):
    return api.call("web3.archive.put", {"contentBase64": b64(data), "mediaType": media_type})


def expected_cid(data: bytes) -> str:
    return str(CID("base32", 1, "raw", multihash.digest(data, "sha2-256")))


def stored_files(settings) -> list[Path]:
    root = Path(settings.STORAGES["archive"]["OPTIONS"]["location"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.keypath
def test_put_returns_the_cid_multiformats_computes_and_the_owner_gets_the_bytes_back(sign_in, settings):
    # given
    alice, bob = sign_in(), sign_in()
    data = b"the report, version 1\n" + bytes(range(256))
    # when
    put_result = put(alice, data).result
    got = alice.get("web3.archive.get", {"cid": put_result["cid"]})
    # then
    assert put_result["cid"] == expected_cid(data)
    assert put_result["sha256"] == hashlib.sha256(data).hexdigest()
    assert CID.decode(put_result["cid"]).digest == multihash.digest(data, "sha2-256")
    assert (put_result["size"], put_result["mediaType"]) == (len(data), "application/octet-stream")
    assert base64.b64decode(got.result["contentBase64"]) == data
    assert got.result["cid"] == put_result["cid"]
    assert bob.call("web3.archive.get", {"cid": put_result["cid"]}).code == "E_NOT_FOUND"
    assert alice.call("web3.archive.get", {"cid": expected_cid(b"never put")}).code == "E_NOT_FOUND"
    assert alice.call("web3.archive.get", {"cid": "Qm" + "a" * 44}).code == "E_INVALID_ARGUMENT"


def test_objects_are_encrypted_at_rest_and_stored_once_per_cid(sign_in, settings, staff):
    # given
    alice, bob = sign_in(), sign_in()
    data = b"plain words that must not be readable on disk"
    before = set(stored_files(settings))
    # when
    first = put(alice, data, "text/plain").result
    again = put(alice, data, "text/plain").result
    by_bob = put(bob, data, "text/plain").result
    # then
    new = set(stored_files(settings)) - before
    assert len(new) == 1
    (blob,) = new
    assert data not in blob.read_bytes() and b"plain words" not in blob.read_bytes()
    assert first["cid"] == again["cid"] == by_bob["cid"] and blob.name == first["cid"]
    assert AuditEvent.objects.filter(action="archive.put", object_id=first["cid"]).count() == 2  # alice, bob
    assert base64.b64decode(bob.get("web3.archive.get", {"cid": first["cid"]}).result["contentBase64"]) == data
    assert staff.get("web3.archive.get", {"cid": first["cid"]}).ok


def test_the_archive_storage_is_the_one_the_setting_names(sign_in, settings):
    # given
    settings.STORAGES = {**settings.STORAGES, "archive": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    alice = sign_in()
    data = b"kept in memory"
    # when
    cid = put(alice, data).result["cid"]
    got = alice.get("web3.archive.get", {"cid": cid}).result
    # then
    memory = storages["archive"]
    assert type(memory).__name__ == "InMemoryStorage"
    assert memory.exists(f"{cid[7:9]}/{cid}")
    with memory.open(f"{cid[7:9]}/{cid}", "rb") as fh:
        assert data not in fh.read()
    assert base64.b64decode(got["contentBase64"]) == data


def test_size_caps_one_object_and_an_actors_quota(sign_in, settings):
    # given
    settings.WEB3_ARCHIVE_MAX_BYTES = 16
    settings.WEB3_ARCHIVE_QUOTA_BYTES = 40
    alice = sign_in()
    # when
    too_big = put(alice, b"x" * 17)
    fits = [put(alice, bytes([i]) * 16) for i in range(2)]
    over = put(alice, b"z" * 16)
    # then
    assert too_big.code == "E_INVALID_ARGUMENT" and too_big.status == 400
    assert too_big.body["error"]["details"]["fields"] == {"contentBase64": "at most 16 bytes"}
    assert all(r.ok for r in fits)
    assert over.code == "E_QUOTA_EXCEEDED" and over.status == 429
    assert {k: over.body["error"]["details"][k] for k in ("quota", "used", "needed")} == {
        "quota": 40,
        "used": 32,
        "needed": 16,
    }
    assert put(sign_in(), b"z" * 16).ok  # another actor's quota is its own


@pytest.mark.parametrize(
    ("data", "media_type", "kind"),
    [
        (f"key={CANARY}".encode(), "application/octet-stream", "api_key"),
        (b"\x00\x01Authorization: Bearer abcdefgh\x02", "application/octet-stream", "authorization"),
        (("0x" + "1f" * 32).encode(), "image/png", "private_key"),
        (b"log at /home/alice/.ssh/id_rsa", "text/plain", "file_path"),
        (b'{"password": "hunter2"}', "application/json", "key"),
    ],
)
def test_an_upload_holding_a_secret_is_refused_naming_its_kind_not_the_secret(sign_in, data, media_type, kind):
    # when
    refused = put(sign_in(), data, media_type)
    # then
    assert refused.code == "E_INVALID_ARGUMENT"
    assert kind in refused.body["error"]["details"]["fields"]["contentBase64"]
    assert CANARY not in str(refused.body) and "hunter2" not in str(refused.body)


def test_a_path_like_run_of_bytes_in_a_binary_is_kept(sign_in):
    assert put(sign_in(), b"%PDF-1.7 /Filter/FlateDecode /Type/Page", "application/pdf").ok


def test_params_are_strict(alice):
    assert put(alice, b"x", "Text/Plain").code == "E_INVALID_ARGUMENT"
    assert alice.call("web3.archive.put", {"contentBase64": "not base64!", "mediaType": "text/plain"}).code == (
        "E_INVALID_ARGUMENT"
    )
    assert alice.call("web3.archive.put", {"contentBase64": "", "mediaType": "text/plain"}).code == (
        "E_INVALID_ARGUMENT"
    )
    assert alice.call("web3.archive.put", {"contentBase64": "eA==", "mediaType": "text/plain", "x": 1}).code == (
        "E_INVALID_ARGUMENT"
    )
    assert alice.get("web3.archive.put", {}).status == 405


def test_a_result_artifact_named_by_cid_is_shared_with_the_tasks_creator(sign_in):
    # given
    creator, bidder, stranger = sign_in(), sign_in(), sign_in()
    fund(creator.actor_id, "20")
    data = b"artifact bytes"
    cid = put(bidder, data).result["cid"]
    other = put(stranger, b"not the bidder's").result["cid"]
    flow = Flow(creator, bidder).publish().place_bid().award_bid()
    artifact = {"name": "out.bin", "sha256": hashlib.sha256(data).hexdigest(), "cid": cid}
    task_id = flow.task["taskId"]

    def submit(*artifacts):
        params = {"taskId": task_id, "summary": "done", "artifacts": list(artifacts)}
        return bidder.call("web3.market.submitResult", params)

    assert creator.get("web3.archive.get", {"cid": cid}).code == "E_NOT_FOUND"
    # when
    not_theirs = submit({**artifact, "cid": other})
    wrong_digest = submit({**artifact, "sha256": "ab" * 32})
    submitted = submit(artifact)
    # then
    assert not_theirs.body["error"]["details"]["fields"] == {
        "artifacts.cid": "names no archive object you can get (web3.archive.put it first)"
    }
    assert wrong_digest.body["error"]["details"]["fields"] == {
        "artifacts.cid": "artifact 0: its sha256 is not the archive object's"
    }
    assert submitted.result["artifacts"] == [artifact]
    assert base64.b64decode(creator.get("web3.archive.get", {"cid": cid}).result["contentBase64"]) == data
    assert stranger.get("web3.archive.get", {"cid": cid}).code == "E_NOT_FOUND"


def test_dispute_evidence_named_by_cid_is_shared_with_the_parties_and_arbitrators(sign_in):
    # given
    creator, bidder, arbitrator, stranger = sign_in(), sign_in(), sign_in(roles=("arbitrator",)), sign_in()
    fund(creator.actor_id, "20")
    flow = Flow(creator, bidder).delivered()
    flow.review("reject", "not what I asked")
    dispute_id = flow.dispute().result["disputeId"]
    data = b"the chat log that shows the work"
    cid = put(bidder, data, "text/plain").result["cid"]
    params = {"disputeId": dispute_id, "kind": "log", "cid": cid, "sha256": hashlib.sha256(data).hexdigest()}
    # when
    wrong = bidder.call("web3.dispute.submitEvidence", {**params, "sha256": "cd" * 32})
    item = bidder.call("web3.dispute.submitEvidence", params)
    # then
    assert wrong.body["error"]["details"]["fields"] == {"sha256": "is not the sha256 of the archive object `cid`"}
    assert item.result["cid"] == cid and item.result["content"] == ""
    for who in (creator, bidder, arbitrator):
        assert base64.b64decode(who.get("web3.archive.get", {"cid": cid}).result["contentBase64"]) == data
    assert stranger.get("web3.archive.get", {"cid": cid}).code == "E_NOT_FOUND"
    stolen = stranger.call("web3.dispute.submitEvidence", params)
    assert stolen.code == "E_NOT_FOUND"


def test_a_storage_that_fails_is_unavailable_without_naming_its_files(sign_in, settings, tmp_path, caplog):
    # given: an archive location under a plain file, which no directory can be made in
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.STORAGES = {
        **settings.STORAGES,
        "archive": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocker / "archive")},
        },
    }
    alice = sign_in()
    # when
    refused = put(alice, b"cannot be stored")
    # then
    assert (refused.status, refused.code) == (503, "E_UNAVAILABLE")
    assert str(tmp_path) not in json.dumps(refused.body)
    assert str(tmp_path) not in "\n".join(r.getMessage() for r in caplog.records)
    assert not ArchiveObject.objects.exists()
