"""Recompute the audit chain, its checkpoints and anchors, and every balance from first principles
(verify_audit)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator

from django.db.models import Sum

from market.models import Account, AuditEvent, AuditHead, Settlement, Transfer
from market.models.audit import GENESIS_HASH, event_hash, event_time_text
from market.money import currencies, format_amount

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
    moved: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in (Transfer.objects.filter(settlement__isnull=False).values("settlement_id", "kind")
                .annotate(total=Sum("amount"))):
        moved[row["settlement_id"]][row["kind"]] = row["total"]
    for s in Settlement.objects.order_by("pk").iterator(chunk_size=2000):
        m = moved[s.pk]
        if (m[K.PENDING], m[K.POST_PENDING], m[K.VOID_PENDING]) != (s.locked, s.released, s.refunded):
            yield f"settlement {s.settlement_id}: amounts differ from its transfers"
            return
        if s.remaining < 0:
            yield f"settlement {s.settlement_id}: remaining below zero"
            return


def transfer_audit_problems() -> Iterator[str]:
    """Every transfer is recorded, with its amount, by exactly one event of the (verified) chain:
    posted transfers by their own event, escrow transfers by their settlement's event (transferId).
    So a transfer edited together with its accounts' totals is still caught."""
    recorded: dict[str, AuditEvent] = {}
    events = AuditEvent.objects.filter(object_type__in=("transfer", "settlement")).order_by("seq")
    for ev in events.iterator(chunk_size=2000):
        payload = json.loads(ev.payload)
        transfer_id = ev.object_id if ev.object_type == "transfer" else payload.get("transferId")
        if transfer_id:
            ev.recorded = payload
            recorded[transfer_id] = ev
    configured = currencies()
    for t in Transfer.objects.order_by("pk").iterator(chunk_size=5000):
        ev = recorded.pop(t.transfer_id, None)
        if ev is None:
            yield f"transfer {t.transfer_id} ({t.code}) has no audit event"
            return
        amount = format_amount(t.amount, t.currency) if t.currency in configured else str(t.amount)
        said = (ev.recorded.get("amount"), ev.recorded.get("currency"))
        if said != (amount, t.currency):
            yield (f"transfer {t.transfer_id} ({t.code} {amount} {t.currency}) differs from audit event seq "
                   f"{ev.seq} ({ev.event_id}): {said[0]} {said[1]}")
            return
    for transfer_id, ev in recorded.items():
        yield f"audit event seq {ev.seq} ({ev.event_id}) records transfer {transfer_id}, which does not exist"
        return


def problems() -> Iterator[str]:
    from market.audit_verify import anchor_problems, checkpoint_problems, chunk_problems

    yield from audit_chain_problems()
    yield from checkpoint_problems()
    yield from chunk_problems()
    yield from anchor_problems()
    yield from transfer_audit_problems()
    yield from ledger_problems()
    from market.lease_verify import lease_problems

    yield from lease_problems()
