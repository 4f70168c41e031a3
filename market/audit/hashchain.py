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

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from market.canonical import canonical_sha256

GENESIS_HASH = "0" * 64
# An event's fields both its hashes cover (the chain hash adds seq and prevHash), by their model names.
HASHED_FIELDS = ("event_id", "actor_id", "action", "object_type", "object_id", "payload_sha256", "created_at")


def _content(
    *,
    event_id: str,
    actor_id: str,
    action: str,
    object_type: str,
    object_id: str,
    payload_sha256: str,
    created_at: str,
) -> dict[str, str]:
    """What a leaf says about itself, under its hashed names: every field of the chain hash but its position."""
    return {
        "eventId": event_id,
        "actorId": actor_id,
        "action": action,
        "objectType": object_type,
        "objectId": object_id,
        "payloadSha256": payload_sha256,
        "createdAt": created_at,
    }


def event_hash(*, seq: int, prev_hash: str, **content: str) -> str:
    """The chain hash: the leaf's content (the keyword arguments of _content) at its position."""
    return canonical_sha256({"seq": seq, "prevHash": prev_hash, **_content(**content)})


def content_hash(**content: str) -> str:
    """The leaf's hash before it has a position: every field of event_hash but seq and prevHash."""
    return canonical_sha256(_content(**content))


def event_time_text(dt: datetime) -> str:
    """The exact text of created_at that goes into the event hash (UTC, microseconds)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def hashed_fields(values: Mapping[str, Any]) -> dict[str, str]:
    """An event's hashed fields (from its values by model name, created_at a datetime), as
    content_hash and event_hash take them."""
    fields = {name: values[name] for name in HASHED_FIELDS}
    return {**fields, "created_at": event_time_text(values["created_at"])}
