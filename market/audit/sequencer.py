"""The audit log's sequencer: committed leaves get their position (seq, prev_hash, chain hash).

Writers do not queue on one row: a money transaction inserts its leaf (content and content hash, no
position) and commits. The sequencer, one at a time under the head row's lock (market.locks.
lock_audit_head), takes the committed leaves still without a position in a stable order (by id),
chains them after the head and writes their positions set-based, a batch per statement, then moves
the head. The database allows exactly that one UPDATE of an event (NULL position -> a position,
once; migration 0018) and refuses every other.

It runs (a) as the periodic job `audit.sequence`, every WEB3_AUDIT_SEQUENCE_INTERVAL_SEC seconds;
(b) right before every seal (market.audit.checkpoints); (c) after the commit of a transaction
that wrote leaves, when cheap: at most once per WEB3_AUDIT_SEQUENCE_AFTER_COMMIT_GAP_MS in each
process (a run costs a transaction of its own, as much as the money transaction before it, and one
run takes every leaf committed meanwhile: bench/ledger.py), skipping at once if another sequencer
holds the head (that one, or the next, takes the leaves); and (d) where a read needs a position
(a proof, the audit lists, verify_audit) or a writer needs its own (a ruling names its event's seq): `ensure_sequenced`.
Inside a writer's transaction it sequences that transaction's own leaves too, holding the head to
the end of it, the last lock of the order.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connection, transaction

from market import sql
from market.audit.hashchain import HASHED_FIELDS, event_hash, hashed_fields
from market.locks import lock_audit_head
from market.models import AuditEvent

log = logging.getLogger("market.audit.sequencer")

BATCH = 1000  # leaves per statement
MAX_BATCHES = 100  # per run; what is left waits for the next run

_SEQUENCING: ContextVar[bool] = ContextVar("audit_sequencing", default=False)


def sequencing() -> bool:
    """Whether the current statements are the sequencer's (the one write a read may cause: positions
    for leaves already committed; the gateway's read-only guard lets them through)."""
    return _SEQUENCING.get()


@contextmanager
def _as_sequencer() -> Iterator[None]:
    token = _SEQUENCING.set(True)
    try:
        yield
    finally:
        _SEQUENCING.reset(token)


def _batch(next_seq: int, last_hash: str) -> tuple[int, str, int]:
    """Sequence up to BATCH waiting leaves after (next_seq, last_hash); the new head and how many."""
    rows = list(AuditEvent.objects.filter(seq__isnull=True).order_by("pk").values("pk", *HASHED_FIELDS)[:BATCH])
    if not rows:
        return next_seq, last_hash, 0
    seq, prev, values = next_seq, last_hash, []
    for row in rows:
        pk = row["pk"]
        digest = event_hash(seq=seq, prev_hash=prev, **hashed_fields(row))
        values.append((pk, seq, prev, digest))
        seq, prev = seq + 1, digest
    if sql.batched():
        # One statement: every position of the batch (one JSON document: a parameter per value
        # costs more to quote than the rest of the run, bench/sweep.py) and the head.
        done = sql.execute(
            "WITH v AS (SELECT * FROM json_to_recordset(%s) AS v (id bigint, seq bigint, prev_hash text, hash text)), "
            "ev AS (UPDATE market_auditevent e SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash "
            "FROM v WHERE e.id = v.id AND e.seq IS NULL RETURNING 1), "
            "head AS (UPDATE market_audithead SET next_seq = %s, last_hash = %s WHERE id = 1) "
            "SELECT count(*) FROM ev",
            [json.dumps([{"id": i, "seq": q, "prev_hash": p, "hash": h} for i, q, p, h in values]), seq, prev],
        )[0][0]
    else:
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE market_auditevent SET seq = %s, prev_hash = %s, hash = %s WHERE id = %s AND seq IS NULL",
                [(s, p, h, pk) for pk, s, p, h in values],
            )
            done = cursor.rowcount
        sql.execute("UPDATE market_audithead SET next_seq = %s, last_hash = %s WHERE id = 1", [seq, prev])
    if done != len(values):  # only a sequencer writes positions, and we hold the head
        raise RuntimeError(f"audit sequencer: {done} of {len(values)} leaves took their position")
    return seq, prev, len(values)


def audit_sequence(*, wait: bool = True) -> int:
    """Give every committed leaf without a position its position; returns how many. wait=False
    returns 0 at once when another sequencer holds the head."""
    total = 0
    with _as_sequencer():
        for _ in range(MAX_BATCHES):
            with transaction.atomic():
                head = lock_audit_head(skip_locked=not wait)
                if head is None:
                    return total
                _, _, done = _batch(*head)
            total += done
            if done < BATCH:
                break
    if total:
        log.debug("audit sequencer: %s leaves sequenced", total)
    return total


def ensure_sequenced() -> None:
    """Sequence now if any committed leaf (or one of this transaction's) waits for its position."""
    if AuditEvent.objects.filter(seq__isnull=True).exists():
        audit_sequence()


def position_of(event: AuditEvent) -> int:
    """The event's seq, sequencing first if it has none yet (inside its writer's transaction, the
    head stays locked until that transaction ends). Sets event.seq, prev_hash and hash."""
    if event.seq is None:
        audit_sequence()
        event.seq, event.prev_hash, event.hash = (
            AuditEvent.objects.filter(pk=event.pk).values_list("seq", "prev_hash", "hash").get()
        )
    return event.seq


_last_after_commit = 0.0  # this process's last run after a commit (time.monotonic)


def sequence_after_commit() -> None:
    """transaction.on_commit hook of a transaction that wrote leaves: sequence, unless this process
    did less than the gap ago (the leaves wait for the next commit, the periodic job or a read that
    needs them) or another sequencer is at work."""
    global _last_after_commit  # noqa: PLW0603 - one clock per process; a race runs twice, harmlessly
    now = time.monotonic()
    if now - _last_after_commit < settings.WEB3_AUDIT_SEQUENCE_AFTER_COMMIT_GAP_MS / 1000:
        return
    _last_after_commit = now
    audit_sequence(wait=False)


def schedule_after_commit() -> None:
    """Register sequence_after_commit once for the current transaction (called by every append);
    outside a transaction the leaves are committed already, so it runs now."""
    if not connection.in_atomic_block:
        sequence_after_commit()
        return
    if any(func is sequence_after_commit for _, func, _ in connection.run_on_commit):
        return
    transaction.on_commit(sequence_after_commit, robust=True)


def sequence_sweep() -> dict:
    """Periodic job: sequence what is waiting."""
    return {"sequenced": audit_sequence()}
