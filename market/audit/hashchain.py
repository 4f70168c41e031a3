"""The audit log's hash chain: what an event's hash commits to.

event hash = sha256(RFC 8785 JSON of {seq, eventId, actorId, action, objectType, objectId,
payloadSha256, prevHash, createdAt}); prevHash is the previous event's hash (64 zeros for the
first), and createdAt is the exact text `event_time_text` gives. A leaf module (canonical JSON only),
so the models can use it; market/audit/proofs.py recomputes the same hash offline.

A leaf is written without its position (seq, prevHash): those are assigned later by the sequencer
(market.audit.sequencer). What the writer can commit to at once is the leaf's content hash:
sha256(RFC 8785 JSON of {eventId, actorId, action, objectType, objectId, payloadSha256, createdAt}).
"""

from __future__ import annotations

from datetime import UTC, datetime

from market.canonical import canonical_sha256

GENESIS_HASH = "0" * 64


def event_hash(
    *,
    seq: int,
    event_id: str,
    actor_id: str,
    action: str,
    object_type: str,
    object_id: str,
    payload_sha256: str,
    prev_hash: str,
    created_at: str,
) -> str:
    body = {
        "seq": seq,
        "eventId": event_id,
        "actorId": actor_id,
        "action": action,
        "objectType": object_type,
        "objectId": object_id,
        "payloadSha256": payload_sha256,
        "prevHash": prev_hash,
        "createdAt": created_at,
    }
    return canonical_sha256(body)


def content_hash(
    *,
    event_id: str,
    actor_id: str,
    action: str,
    object_type: str,
    object_id: str,
    payload_sha256: str,
    created_at: str,
) -> str:
    """The leaf's hash before it has a position: every field of event_hash but seq and prevHash."""
    body = {
        "eventId": event_id,
        "actorId": actor_id,
        "action": action,
        "objectType": object_type,
        "objectId": object_id,
        "payloadSha256": payload_sha256,
        "createdAt": created_at,
    }
    return canonical_sha256(body)


def event_time_text(dt: datetime) -> str:
    """The exact text of created_at that goes into the event hash (UTC, microseconds)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
