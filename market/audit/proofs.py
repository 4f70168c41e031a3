"""Offline verification of a `web3.audit.proof` answer. Standalone: the standard library and
eth-account only (no Django, no other market module), so a client can copy this file and check a
proof without trusting the market.

Proof format (the `result` of web3.audit.proof):

    {
      "event": {"seq", "eventId", "actorId", "action", "objectType", "objectId",
                "payload"       : RFC 8785 canonical JSON text of the redacted payload,
                "payloadSha256" : hex sha256 of the UTF-8 bytes of `payload`,
                "prevHash"      : the previous event's hash (64 zeros for seq 0),
                "createdAt"     : "YYYY-MM-DDTHH:MM:SS.ffffffZ" (the exact hashed text),
                "hash"          : hex sha256 of the RFC 8785 JSON of {seq, eventId, actorId, action,
                                  objectType, objectId, payloadSha256, prevHash, createdAt}},
      "leafIndex": the event's seq,
      "treeSize" : leaves in the checkpoint's tree,
      "proof"    : [hex sibling hashes, leaf to root] (RFC 6962 audit path),
      "root"     : hex Merkle root,
      "checkpoint": {"treeSize", "root", "createdAt", "signature", "signer", "statement"},
      "anchor"   : {"txHash", "chainId", "status", ...} or null
    }

Merkle hashing is RFC 6962: leaf = sha256(0x00 || the 32 bytes of event.hash), node =
sha256(0x01 || left || right); the path is checked with RFC 9162 §2.1.3.2. The checkpoint
statement is the text "openclaw-checkpoint/v1\\n<treeSize>\\n<root hex>\\n<createdAt>", signed with
EIP-191 personal_sign; `signer` is the lowercase address that signed it. Pass `trusted_signer`
(the market's published checkpoint address) to also pin who signed. The anchor, when present,
names an EVM transaction whose input data is the 32 root bytes; checking it needs a chain node and
is left to the caller.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct

STATEMENT_TAG = "openclaw-checkpoint/v1"
EVENT_FIELDS = (
    "seq",
    "eventId",
    "actorId",
    "action",
    "objectType",
    "objectId",
    "payloadSha256",
    "prevHash",
    "createdAt",
)


class ProofError(ValueError):
    """The proof does not hold; the message says which check failed."""


def checkpoint_statement(tree_size: int, root_hex: str, created_at: str) -> str:
    return f"{STATEMENT_TAG}\n{tree_size}\n{root_hex}\n{created_at}"


def _canonical(value: dict[str, Any]) -> bytes:
    # RFC 8785 for objects of ASCII keys, strings and integers up to 2**53 (all an event body holds):
    # a copy of market.canonical's fast path, kept here so that this file needs the standard library
    # only (tests/market/test_canonical.py checks that the two agree).
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right)


def _hex32(value: Any, what: str) -> bytes:
    try:
        raw = bytes.fromhex(value.removeprefix("0x"))
    except (AttributeError, ValueError):
        raise ProofError(f"{what} is not hex") from None
    if len(raw) != 32:
        raise ProofError(f"{what} is not 32 bytes")
    return raw


def _root_from_path(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes | None:
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_event(event: dict[str, Any]) -> bytes:
    """Recompute the event's payload digest and chain hash; return the hash bytes."""
    payload = event.get("payload")
    if not isinstance(payload, str):
        raise ProofError("event.payload must be the canonical JSON text")
    if hashlib.sha256(payload.encode()).hexdigest() != event.get("payloadSha256"):
        raise ProofError("event payload does not match payloadSha256")
    try:
        body = {k: event[k] for k in EVENT_FIELDS}
    except KeyError as exc:
        raise ProofError(f"event.{exc.args[0]} is missing") from None
    if hashlib.sha256(_canonical(body)).hexdigest() != event.get("hash"):
        raise ProofError("event fields do not match event.hash")
    return _hex32(event["hash"], "event.hash")


def verify_proof(proof: dict[str, Any] | str, *, trusted_signer: str | None = None) -> None:
    """Return None if the proof holds, else raise ProofError. `proof` is the dict or its JSON."""
    if isinstance(proof, (str, bytes)):
        proof = json.loads(proof)
    try:
        event, index, size = proof["event"], proof["leafIndex"], proof["treeSize"]
        path_hex, root_hex, cp = proof["proof"], proof["root"], proof["checkpoint"]
    except (KeyError, TypeError):
        raise ProofError("not a proof object (event, leafIndex, treeSize, proof, root, checkpoint)") from None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (index, size)):
        raise ProofError("leafIndex and treeSize must be integers")
    if event.get("seq") != index:
        raise ProofError("leafIndex is not the event's seq")
    leaf = _sha256(b"\x00" + verify_event(event))
    path = [_hex32(p, "a proof hash") for p in path_hex]
    root = _hex32(root_hex, "root")
    if _root_from_path(index, size, leaf, path) != root:
        raise ProofError("the inclusion proof does not lead to the root")
    if cp.get("treeSize") != size or cp.get("root") != root_hex:
        raise ProofError("the checkpoint is for another tree")
    statement = checkpoint_statement(size, root_hex, cp.get("createdAt", ""))
    if cp.get("statement") != statement:
        raise ProofError("the checkpoint statement does not match its fields")
    try:
        signer = Account.recover_message(encode_defunct(text=statement), signature=cp.get("signature")).lower()
    except Exception:  # noqa: BLE001 - eth-account raises several types for a malformed signature
        raise ProofError("the checkpoint signature is malformed") from None
    if signer != str(cp.get("signer", "")).lower():
        raise ProofError("the checkpoint signature is not by its signer")
    if trusted_signer is not None and signer != trusted_signer.lower():
        raise ProofError("the checkpoint is not signed by the trusted signer")
