"""Recompute the audit chain, its checkpoints and anchors, and every balance from first principles
(verify_audit)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator

from market.models import Account, AuditEvent, AuditHead, Settlement, Transfer
from market.models.audit import GENESIS_HASH, event_hash, event_time_text

K = Transfer.Kind


def audit_chain_problems() -> Iterator[str]:
    prev = GENESIS_HASH
    expected_seq = 0
    for ev in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
        if ev.seq != expected_seq:
            yield f"audit event seq {expected_seq} is missing (found {ev.seq})"
            return
        if hashlib.sha256(ev.payload.encode()).hexdigest() != ev.payload_sha256:
            yield f"audit event seq {ev.seq} ({ev.event_id}): payload does not match its sha256"
            return
        if ev.prev_hash != prev:
            yield f"audit event seq {ev.seq} ({ev.event_id}): prev_hash breaks the chain"
            return
        digest = event_hash(
            seq=ev.seq, event_id=ev.event_id, actor_id=ev.actor_id, action=ev.action,
            object_type=ev.object_type, object_id=ev.object_id, payload_sha256=ev.payload_sha256,
            prev_hash=ev.prev_hash, created_at=event_time_text(ev.created_at),
        )
        if digest != ev.hash:
            yield f"audit event seq {ev.seq} ({ev.event_id}): hash does not match its fields"
            return
        prev = ev.hash
        expected_seq += 1
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.next_seq != expected_seq or head.last_hash != prev):
        yield f"audit head (next {head.next_seq}) disagrees with the chain (next {expected_seq})"


def folded_totals() -> dict[int, dict[str, int]]:
    """Every account's four totals recomputed from its transfers."""
    totals: dict[int, dict[str, int]] = defaultdict(
        lambda: {"debits_posted": 0, "credits_posted": 0, "debits_pending": 0, "credits_pending": 0}
    )
    for t in Transfer.objects.only("debit_account_id", "credit_account_id", "amount", "kind").iterator(
            chunk_size=5000):
        d, c, a = totals[t.debit_account_id], totals[t.credit_account_id], t.amount
        if t.kind == K.POSTED:
            d["debits_posted"] += a
            c["credits_posted"] += a
        elif t.kind == K.PENDING:
            d["debits_pending"] += a
            c["credits_pending"] += a
        elif t.kind == K.POST_PENDING:
            d["debits_pending"] -= a
            d["debits_posted"] += a
            c["credits_pending"] -= a
            c["credits_posted"] += a
        elif t.kind == K.VOID_PENDING:
            d["debits_pending"] -= a
            c["credits_pending"] -= a
    return totals


def ledger_problems() -> Iterator[str]:
    totals = folded_totals()
    sums: dict[str, int] = defaultdict(int)
    for acc in Account.objects.order_by("pk"):
        expected = totals.get(acc.pk, {"debits_posted": 0, "credits_posted": 0, "debits_pending": 0,
                                       "credits_pending": 0})
        actual = {k: getattr(acc, k) for k in expected}
        if actual != expected:
            yield f"account {acc} totals {actual} differ from its transfers {expected}"
            return
        if acc.kind != Account.Kind.EXTERNAL and acc.available < 0:
            yield f"account {acc} is below zero"
            return
        sums[acc.currency] += acc.balance
    for currency, total in sums.items():
        if total != 0:
            yield f"currency {currency}: balances sum to {total}, not 0"
            return
    for s in Settlement.objects.order_by("pk"):
        moved = defaultdict(int)
        for t in s.transfers.all():
            moved[t.kind] += t.amount
        if moved[K.PENDING] != s.locked or moved[K.POST_PENDING] != s.released or moved[K.VOID_PENDING] != s.refunded:
            yield f"settlement {s.settlement_id}: amounts differ from its transfers"
            return
        if s.remaining < 0:
            yield f"settlement {s.settlement_id}: remaining below zero"
            return


def problems() -> Iterator[str]:
    from market.audit_verify import anchor_problems, checkpoint_problems

    yield from audit_chain_problems()
    yield from checkpoint_problems()
    yield from anchor_problems()
    yield from ledger_problems()
