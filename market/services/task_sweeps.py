"""The task market's periodic jobs (WEB3_PERIODIC_JOBS): undelivered awards, expiry, the dispute
window, and ruling payouts. Each selects its work by state and deadline in batches with
skip_locked, and re-reads every row under its lock, so running twice, or two at once, moves each
object once.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from market import locks, states
from market.audit.log import audit_record, audit_record_many
from market.audit.payout_gate import ruling_payout_ready
from market.models import Dispute, TaskAward, TaskBid, TaskOrder, TaskReceipt, TaskResult
from market.money import format_amount
from market.services import escrow

SYSTEM = "system"
T, Rc, D = TaskOrder.Status, TaskReceipt.Status, Dispute.Status


def task_expire_sweep(*, batch_size: int = 500) -> dict[str, int]:
    """Open tasks past expiresAt (open means no active award) expire; their live bids are rejected."""
    expired = 0
    while True:
        now = timezone.now()
        with transaction.atomic():
            batch = locks.lock_expired_tasks(now, batch_size)
            if not batch:
                break
            bids = TaskBid.objects.filter(task__in=batch, status=TaskBid.Status.SUBMITTED)
            bidders: dict[int, list[str]] = {}
            for bid in locks.lock_bids_of_tasks(batch):
                bidders.setdefault(bid.task_id, []).append(bid.bidder_actor_id)
            states.bulk_transition(bids, "reject", updated_at=now)
            moved = states.bulk_transition(
                TaskOrder.objects.filter(pk__in=[t.pk for t in batch]), "expire", updated_at=now
            )
            for task in batch:
                audit_record(
                    actor_id=SYSTEM,
                    action="task.expire",
                    object_type="task",
                    object_id=task.task_id,
                    payload={"status": T.EXPIRED, "rejectedBids": len(bidders.get(task.pk, []))},
                    parties=[task.creator_actor_id, *bidders.get(task.pk, [])],
                )
            expired += moved
    return {"expired": expired}


def award_undelivered_sweep(*, batch_size: int = 200) -> dict[str, int]:
    """Awards with no result WEB3_DELIVERY_GRACE_SEC after deliverBy: the award is revoked and its
    settlement refunded to the creator (nothing goes to the bidder), and the task is open for bids
    again while its expiresAt is ahead (task_open), else it is expired (task_expired), as an open
    task past expiresAt would be. Set-based: one bulk transition per verb, one set-based refund,
    the audit events appended together."""
    reopened = expired = 0
    grace = timedelta(seconds=settings.WEB3_DELIVERY_GRACE_SEC)
    while True:
        now = timezone.now()
        due = TaskAward.objects.filter(
            status=TaskAward.Status.ACTIVE, deliver_by__lt=now - grace, task__status=T.AWARDED
        ).exclude(Exists(TaskResult.objects.filter(award=OuterRef("pk"))))
        with transaction.atomic():
            locked = locks.lock_free_tasks(set(due.order_by("pk").values_list("task_id", flat=True)[:batch_size]))
            batch = locks.lock_awards(due.filter(task_id__in=locked))
            if not batch:
                break
            states.bulk_transition(TaskAward.objects.filter(pk__in=[a.pk for a in batch]), "revoke", updated_at=now)
            reopen = [a.task_id for a in batch if a.task.expires_at > now]
            reopened += states.bulk_transition(TaskOrder.objects.filter(pk__in=reopen), "reopen", updated_at=now)
            expired += states.bulk_transition(
                TaskOrder.objects.filter(pk__in=[a.task_id for a in batch]).exclude(pk__in=reopen),
                "expire_undelivered",
                updated_at=now,
            )
            refunded = {
                s.settlement_id: s.refunded
                for s in escrow.escrow_refund_many(
                    settlement_ids=[a.settlement.settlement_id for a in batch],
                    by_actor_id=SYSTEM,
                    reason="award not delivered by deliverBy",
                )
            }
            audit_record_many(
                [
                    {
                        "actor_id": SYSTEM,
                        "action": "award.revoke",
                        "object_type": "task",
                        "object_id": a.task.task_id,
                        "parties": [a.task.creator_actor_id, a.bid.bidder_actor_id],
                        "payload": {
                            "status": T.OPEN if a.task_id in reopen else T.EXPIRED,
                            "awardId": a.award_id,
                            "awardStatus": TaskAward.Status.REVOKED,
                            "reason": "not delivered",
                            "deliverBy": a.deliver_by.isoformat(),
                            "settlementId": a.settlement.settlement_id,
                            "refunded": format_amount(refunded.get(a.settlement.settlement_id, 0), a.task.currency),
                            "currency": a.task.currency,
                        },
                    }
                    for a in batch
                ]
            )
    return {"reopened": reopened, "expired": expired}


def _close(receipt: TaskReceipt, verb: str, now) -> None:
    receipt.settled_at = now
    states.transition(receipt, verb, update_fields=["settled_at"])
    task = receipt.task
    if task.status == T.AWARDED:
        states.transition(task, "close")


def _pay(receipt: TaskReceipt, *, payee_share: int | None, reason: str) -> dict[str, int]:
    """Release `payee_share` minor units (None: everything) to the deliverer and refund the rest."""
    sid = receipt.settlement.settlement_id
    ref = f"task:{receipt.task.task_id}"
    amount = receipt.settlement.remaining
    share = amount if payee_share is None else payee_share
    if share > 0:
        escrow.escrow_release(settlement_id=sid, amount=share, by_actor_id=SYSTEM, reason=reason, reference=ref)
    if share < amount:
        escrow.escrow_refund(settlement_id=sid, by_actor_id=SYSTEM, reason=reason, reference=ref)
    return {"released": share, "refunded": amount - share}


def receipt_window_sweep(*, batch_size: int = 200) -> dict[str, int]:
    """Receipts still pending when their dispute window closes: a rejected result is refunded to
    the creator, an unreviewed one released to the deliverer."""
    released = refunded = 0
    while True:
        now = timezone.now()
        due = TaskReceipt.objects.filter(status=Rc.PENDING, dispute_deadline__lt=now)
        with transaction.atomic():
            locked = locks.lock_free_tasks(set(due.order_by("pk").values_list("task_id", flat=True)[:batch_size]))
            batch = locks.lock_receipts(due.filter(task_id__in=locked))
            if not batch:
                break
            for receipt in batch:
                rejected = receipt.result.status == TaskResult.Status.REJECTED
                _close(receipt, "refund" if rejected else "settle", now)
                moved = _pay(
                    receipt,
                    payee_share=0 if rejected else None,
                    reason="dispute window closed: " + ("rejected" if rejected else "not reviewed"),
                )
                audit_record(
                    actor_id=SYSTEM,
                    action="receipt.refund" if rejected else "receipt.settle",
                    object_type="task",
                    object_id=receipt.task.task_id,
                    payload={
                        "receiptId": receipt.receipt_id,
                        "status": receipt.status,
                        **{k: format_amount(v, receipt.currency) for k, v in moved.items()},
                    },
                    parties=[receipt.creator_actor_id, receipt.deliverer_actor_id],
                )
                refunded += rejected
                released += not rejected
    return {"released": released, "refunded": refunded}


def payout_share(dispute: Dispute, receipt: TaskReceipt) -> int | None:
    """Minor units to the deliverer (None: all). rule: floor(amount x bps / 10000); decline: the
    pre-dispute outcome (a rejected result is refunded, an unreviewed one released)."""
    if dispute.decision == Dispute.Decision.RULE:
        return receipt.settlement.remaining * dispute.payee_share_bps // 10000
    return 0 if receipt.result.status == TaskResult.Status.REJECTED else None


def dispute_payout_sweep(*, batch_size: int = 200) -> dict[str, int]:
    """Rulings past their appeal window (or final) pay out once the payout gate agrees."""
    paid = 0
    waiting: set[int] = set()
    while True:
        now = timezone.now()
        due = Dispute.objects.filter(
            status__in=(D.RESOLVED, D.REJECTED), paid_out_at__isnull=True, receipt__payout_due_at__lte=now
        ).exclude(pk__in=waiting)
        with transaction.atomic():
            locked = locks.lock_free_tasks(set(due.order_by("pk").values_list("task_id", flat=True)[:batch_size]))
            receipts = {r.pk: r for r in locks.lock_receipts(TaskReceipt.objects.filter(task_id__in=locked))}
            batch = locks.lock_disputes(due.filter(task_id__in=locked))
            if not batch:
                break
            for dispute in batch:
                if not ruling_payout_ready(dispute):
                    waiting.add(dispute.pk)
                    continue
                receipt = receipts[dispute.receipt_id]
                full = receipt.settlement.remaining
                share = payout_share(dispute, receipt)
                _close(receipt, "refund" if share == 0 else "settle", now)
                moved = _pay(receipt, payee_share=share, reason=f"dispute {dispute.dispute_id}: {dispute.decision}")
                dispute.paid_out_at = now
                dispute.save(update_fields=["paid_out_at", "updated_at"])
                audit_record(
                    actor_id=SYSTEM,
                    action="dispute.payout",
                    object_type="dispute",
                    object_id=dispute.dispute_id,
                    payload={
                        "status": dispute.status,
                        "receiptId": receipt.receipt_id,
                        "amount": format_amount(full, receipt.currency),
                        **{k: format_amount(v, receipt.currency) for k, v in moved.items()},
                    },
                    parties=list(dispute.parties),
                )
                paid += 1
    return {"paid": paid, "waiting": len(waiting)}
