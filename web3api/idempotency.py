"""Idempotency-Key, as API.md specifies it.

Scope: (actor, method, key). The first request claims the key in its own committed transaction;
its answer is stored in the same transaction as its effect (so an effect without a stored answer
cannot exist). A duplicate with the same canonical params replays the stored status and body; other
params are E_CONFLICT; a duplicate that finds the claim still in flight waits a moment for the
answer, then gets E_CONFLICT. 2xx and 4xx answers are stored; 429 and 5xx release the claim.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from market import states
from market.canonical import params_digest
from market.errors import Conflict, InvalidArgument
from web3api.models import IdempotencyRecord

MAX_KEY_LENGTH = 255
# A claim is answered once; releasing or expiring one deletes it.
CLAIM = states.register(
    IdempotencyRecord,
    states.StateTable(
        "idempotency key",
        [states.Transition(IdempotencyRecord.State.IN_FLIGHT, "complete", IdempotencyRecord.State.DONE)],
        status_field="state",
    ),
)


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


def params_hash(params: dict[str, Any]) -> str:
    return params_digest(params)


def validate_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidArgument(
            "Idempotency-Key must be 1-255 printable characters",
            details={"fields": {"Idempotency-Key": "1-255 printable characters"}},
        )
    return key


def claim(*, actor_id: str, method: str, key: str, phash: str) -> IdempotencyRecord | Replay:
    """Claim the key (returns the new record) or return the stored answer to replay."""
    deadline = time.monotonic() + settings.WEB3_IDEMPOTENCY_WAIT_SEC
    while True:
        now = timezone.now()
        # Read first: a duplicate (replay, mismatch, in flight) is answered without a write, so on
        # SQLite it is not queued behind the write lock that the first request's effect holds.
        existing = IdempotencyRecord.objects.filter(actor_id=actor_id, method=method, key=key).first()
        if existing is None:
            try:
                with transaction.atomic():
                    return IdempotencyRecord.objects.create(
                        actor_id=actor_id,
                        method=method,
                        key=key,
                        params_hash=phash,
                        created_at=now,
                        expires_at=now + timedelta(seconds=settings.WEB3_IDEMPOTENCY_TTL_SEC),
                    )
            except IntegrityError:
                continue  # claimed by a concurrent request between our read and insert: look again
        stale = existing.created_at < now - timedelta(seconds=settings.WEB3_IDEMPOTENCY_STALE_SEC)
        if existing.expires_at <= now or (existing.state == existing.State.IN_FLIGHT and stale):
            IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.params_hash != phash:
            raise Conflict(
                "this Idempotency-Key was used with other params",
                details={"reason": "idempotency_key_mismatch"},
            )
        if existing.state == existing.State.DONE:
            return Replay(status=existing.status_code, body=json.loads(existing.body))
        if time.monotonic() >= deadline:
            raise Conflict(
                "a request with this Idempotency-Key is still in progress",
                details={"reason": "idempotency_key_in_flight"},
            )
        time.sleep(0.05)


def complete(record: IdempotencyRecord, *, status: int, body: dict[str, Any]) -> None:
    """Store the answer. Called inside the effect's transaction for successes."""
    states.bulk_transition(
        IdempotencyRecord.objects.filter(pk=record.pk), "complete", status_code=status, body=json.dumps(body)
    )


def release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, state=IdempotencyRecord.State.IN_FLIGHT).delete()


def purge_expired() -> dict[str, int]:
    """Periodic: keys live 24 h."""
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lt=timezone.now()).delete()
    return {"idempotencyKeys": deleted}
