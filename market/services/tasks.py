"""Task orders and bids: publish, cancel, place/withdraw a bid, award (the escrow lock).

Every task-market event is recorded against the task (object_type "task"), so a task's audit
trace shows its whole life; the money moves are recorded by the ledger against the settlement.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from market import locks, sql, states, tx
from market.audit.log import Leaf, audit_leaf, audit_record
from market.errors import Conflict, Expired, Forbidden, InvalidArgument, NotFound, QuotaExceeded
from market.hashing import object_hash, verify_signature
from market.ids import new_id
from market.models import TaskAward, TaskBid, TaskOrder
from market.money import format_amount, scale_of
from market.selectors.tasks import task_visible
from market.services import escrow

T, B, A = TaskOrder.Status, TaskBid.Status, TaskAward.Status
SYSTEM = "system"


# --- hashes (API.md: client-supplied fields plus the id) -----------------------------------------------
def task_hash_fields(task: TaskOrder) -> dict[str, Any]:
    return {
        "taskId": task.task_id,
        "title": task.title,
        "requirements": task.requirements,
        "budget": format_amount(task.budget, task.currency),
        "currency": task.currency,
        "ttlSec": task.ttl_sec,
        "reviewWindowSec": task.review_window_sec,
        "requireSignatures": task.require_signatures,
    }


def bid_signed_fields(*, task_id: str, price: int, currency: str, eta_sec: int, note: str) -> dict[str, Any]:
    """What a bidder signs: the bid's client-supplied fields with the task's id (the bid's own id is
    assigned by the market, so it cannot be part of a signature made before the call)."""
    return {"taskId": task_id, "price": format_amount(price, currency), "etaSec": eta_sec, "note": note}


def bid_hash(bid: TaskBid) -> str:
    fields = bid_signed_fields(
        task_id=bid.task.task_id, price=bid.price, currency=bid.task.currency, eta_sec=bid.eta_sec, note=bid.note
    )
    return object_hash({**fields, "bidId": bid.bid_id})


def check_signature(*, signature: str | None, fields: dict[str, Any], actor_id: str, required: bool) -> str:
    """Verify an optional EIP-191 signature of object_hash(fields); return it ("" when absent)."""
    if not signature:
        if required:
            raise InvalidArgument.field("signature", "this task requires signed bids and results")
        return ""
    verify_signature(message=object_hash(fields), signature=signature, actor_id=actor_id)
    return signature


# --- locks and guards -------------------------------------------------------------------------------------
def lock_task(task_id: str, *, actor_id: str, is_staff: bool = False) -> TaskOrder:
    task = locks.lock_task(task_id=task_id)
    if task is None or not task_visible(task, actor_id=actor_id, is_staff=is_staff):
        raise NotFound("no such task")
    return task


def require_open(task: TaskOrder, *, now) -> None:
    if task.status != T.OPEN:
        raise Conflict(f"the task is {task.status}; only task_open allows this", details={"status": task.status})
    if now >= task.expires_at:
        raise Expired("the task's expiresAt has passed", details={"expiresAt": task.expires_at.isoformat()})


def task_parties(task: TaskOrder, *extra: str) -> list[str]:
    return [task.creator_actor_id, *extra]


def audit_task(task: TaskOrder, action: str, actor_id: str, parties: list[str], **payload: Any):
    return audit_record(**_task_event(task, action, actor_id, parties, payload))


def task_leaf(task: TaskOrder, action: str, actor_id: str, parties: list[str], **payload: Any) -> Leaf:
    """audit_task's leaf, to be written with the caller's other statements (market.sql)."""
    return audit_leaf(**_task_event(task, action, actor_id, parties, payload))


def _task_event(task: TaskOrder, action: str, actor_id: str, parties: list[str], payload: dict) -> dict[str, Any]:
    return {
        "actor_id": actor_id,
        "action": action,
        "object_type": "task",
        "object_id": task.task_id,
        "payload": {"status": task.status, **payload},
        "parties": parties,
    }


# --- publish / cancel -----------------------------------------------------------------------------------
def _budget_cap(currency: str) -> int | None:
    cap = settings.WEB3_TASK_BUDGET_CAP.strip()
    if not cap:
        return None
    return int(Decimal(cap).scaleb(scale_of(currency)))


def task_publish(
    *,
    actor_id: str,
    title: str,
    requirements: str,
    budget: int,
    currency: str,
    ttl_sec: int,
    review_window_sec: int | None = None,
    require_signatures: bool = False,
) -> TaskOrder:
    cap = _budget_cap(currency)
    if cap is not None and budget > cap:
        raise InvalidArgument.field("budget", f"exceeds the market's cap of {format_amount(cap, currency)}")
    with tx.atomic():
        open_count = TaskOrder.objects.filter(creator_actor_id=actor_id, status=T.OPEN).count()
        if open_count >= settings.WEB3_MAX_OPEN_TASKS:
            raise QuotaExceeded(
                f"at most {settings.WEB3_MAX_OPEN_TASKS} open tasks per actor",
                details={"limit": settings.WEB3_MAX_OPEN_TASKS},
            )
        now = timezone.now()
        task = TaskOrder(
            task_id=new_id("task"),
            creator_actor_id=actor_id,
            title=title,
            requirements=requirements,
            budget=budget,
            currency=currency,
            ttl_sec=ttl_sec,
            expires_at=now + timedelta(seconds=ttl_sec),
            review_window_sec=review_window_sec or settings.WEB3_REVIEW_WINDOW_SEC,
            require_signatures=require_signatures,
        )
        task.hash = object_hash(task_hash_fields(task))
        task.save()
        audit_task(
            task,
            "task.publish",
            actor_id,
            [actor_id],
            title=title,
            hash=task.hash,
            budget=format_amount(budget, currency),
            currency=currency,
            expiresAt=task.expires_at.isoformat(),
        )
        return task


def _reject_open_bids(live: list[TaskBid]) -> list[str]:
    """Reject these live bids of a task, locked by the caller after the task (every bid is placed
    and withdrawn under its task's lock, so no other is live); returns their bidders. None: no
    statement."""
    if live:
        states.bulk_transition(TaskBid.objects.filter(pk__in=[b.pk for b in live]), "reject", updated_at=timezone.now())
    return [b.bidder_actor_id for b in live]


def task_cancel(*, task_id: str, actor_id: str, is_staff: bool = False) -> TaskOrder:
    """The creator cancels an open task (open bids rejected), or an awarded one whose deliverBy has
    passed with no result (award revoked, the locked budget refunded)."""
    with tx.atomic():
        task = lock_task(task_id, actor_id=actor_id, is_staff=is_staff)
        if actor_id != task.creator_actor_id:
            raise Forbidden("only the task's creator may cancel it")
        now = timezone.now()
        if task.status == T.AWARDED:
            award = locks.lock_award(task)
            if hasattr(award, "result"):
                raise Conflict("a result was delivered; review it instead", details={"status": task.status})
            if now <= award.deliver_by:
                raise Conflict(
                    "the award's deliverBy has not passed",
                    details={"status": task.status, "deliverBy": award.deliver_by.isoformat()},
                )
            states.transition(task, "cancel_undelivered")
            states.transition(award, "revoke")
            settlement = escrow.escrow_refund(
                settlement_id=award.settlement.settlement_id,
                by_actor_id=actor_id,
                reason="task cancelled: not delivered by deliverBy",
                reference=f"task:{task.task_id}",
            )
            audit_task(
                task,
                "task.cancel",
                actor_id,
                task_parties(task, award.bid.bidder_actor_id),
                awardId=award.award_id,
                awardStatus=award.status,
                refunded=format_amount(settlement.refunded, task.currency),
            )
            return task
        live = locks.lock_bids_of_task(task)
        require_open(task, now=now)
        states.transition(task, "cancel")
        rejected = _reject_open_bids(live)
        audit_task(task, "task.cancel", actor_id, task_parties(task, *rejected), rejectedBids=len(rejected))
        return task


# --- bids -----------------------------------------------------------------------------------------------
def bid_place(
    *, task_id: str, actor_id: str, price: int, eta_sec: int, note: str = "", signature: str | None = None
) -> TaskBid:
    with tx.atomic():
        task = lock_task(task_id, actor_id=actor_id)
        if actor_id == task.creator_actor_id:
            raise Forbidden("the creator cannot bid on its own task")
        now = timezone.now()
        require_open(task, now=now)
        recent = TaskBid.objects.filter(bidder_actor_id=actor_id, created_at__gt=now - timedelta(seconds=60))
        if recent.count() >= settings.WEB3_BIDS_PER_MINUTE:
            oldest = recent.order_by("created_at").first().created_at
            retry = max(1, int((oldest + timedelta(seconds=60) - now).total_seconds() + 0.999))
            raise QuotaExceeded(
                f"at most {settings.WEB3_BIDS_PER_MINUTE} bids per minute",
                details={"retryAfterSec": retry, "limit": settings.WEB3_BIDS_PER_MINUTE},
            )
        if price > task.budget:
            raise InvalidArgument.field("price", "exceeds the task's budget")
        if TaskBid.objects.filter(task=task, bidder_actor_id=actor_id, status=B.SUBMITTED).exists():
            raise Conflict(
                "you already have a live bid on this task; withdraw it first", details={"reason": "duplicate_bid"}
            )
        signed = bid_signed_fields(
            task_id=task.task_id, price=price, currency=task.currency, eta_sec=eta_sec, note=note
        )
        signature = check_signature(
            signature=signature, fields=signed, actor_id=actor_id, required=task.require_signatures
        )
        bid = TaskBid(
            bid_id=new_id("bid"),
            task=task,
            bidder_actor_id=actor_id,
            price=price,
            task_budget=task.budget,
            eta_sec=eta_sec,
            note=note,
            signature=signature,
        )
        bid.hash = bid_hash(bid)
        bid.save()
        audit_task(
            task,
            "bid.place",
            actor_id,
            task_parties(task, actor_id),
            bidId=bid.bid_id,
            hash=bid.hash,
            price=format_amount(price, task.currency),
            etaSec=eta_sec,
            signed=bool(signature),
        )
        return bid


def lock_bid(bid_id: str, *, actor_id: str, is_staff: bool = False) -> TaskBid:
    """Lock the bid's task, then the bid. Visible to its bidder, the task's creator and staff."""
    bid = TaskBid.objects.select_related("task").filter(bid_id=bid_id).first()
    if bid is None or not (is_staff or actor_id in (bid.bidder_actor_id, bid.task.creator_actor_id)):
        raise NotFound("no such bid")
    task = locks.lock_task(pk=bid.task_id)
    bid = locks.lock_bid(pk=bid.pk)
    bid.task = task
    return bid


def bid_withdraw(*, bid_id: str, actor_id: str, is_staff: bool = False) -> TaskBid:
    with tx.atomic():
        bid = lock_bid(bid_id, actor_id=actor_id, is_staff=is_staff)
        if actor_id != bid.bidder_actor_id:
            raise Forbidden("only the bidder may withdraw its bid")
        states.transition(bid, "withdraw")
        audit_task(
            bid.task, "bid.withdraw", actor_id, task_parties(bid.task, actor_id), bidId=bid.bid_id, bidStatus=bid.status
        )
        return bid


def task_award(*, task_id: str, bid_id: str, actor_id: str, is_staff: bool = False) -> TaskAward:
    """The creator accepts one live bid: its price is locked from the creator for the bidder
    (E_INSUFFICIENT_FUNDS changes nothing), the other live bids are rejected."""
    with tx.atomic():
        task = lock_task(task_id, actor_id=actor_id, is_staff=is_staff)
        if actor_id != task.creator_actor_id:
            raise Forbidden("only the task's creator may award it")
        live = locks.lock_bids_of_task(task)
        bid = next((b for b in live if b.bid_id == bid_id), None)
        if bid is None:  # not live (its state says why), or not on this task
            bid = locks.lock_bid(bid_id=bid_id, task=task)
        if bid is None:
            raise NotFound("no such bid on this task")
        now = timezone.now()
        require_open(task, now=now)
        states.transition(bid, "accept", save=False)
        states.transition(task, "award", save=False)
        settlement = escrow.escrow_lock(
            payer_actor_id=task.creator_actor_id,
            payee_actor_id=bid.bidder_actor_id,
            amount=bid.price,
            currency=task.currency,
            by_actor_id=actor_id,
            reference=f"task:{task.task_id}",
        )
        rejected = _reject_open_bids([b for b in live if b.pk != bid.pk])
        award = TaskAward(
            award_id=new_id("awd"),
            task=task,
            bid=bid,
            settlement=settlement,
            deliver_by=now + timedelta(seconds=bid.eta_sec),
        )
        # The award with the bid's and the task's new states: one statement on PostgreSQL.
        sql.insert_with(
            award,
            sql.update_statement(bid, ["status", "updated_at"]),
            sql.update_statement(task, ["status", "updated_at"]),
        )
        audit_task(
            task,
            "task.award",
            actor_id,
            task_parties(task, bid.bidder_actor_id, *rejected),
            awardId=award.award_id,
            bidId=bid.bid_id,
            settlementId=settlement.settlement_id,
            price=format_amount(bid.price, task.currency),
            deliverBy=award.deliver_by.isoformat(),
            rejectedBids=len(rejected),
        )
        return award
