"""Which verbs a viewer may use on a task and its parts right now: the transition tables say
what each object's state allows, the protocol's guards say who (DESIGN "Guards"). A page shows
exactly these actions; the services still decide (and refuse with a clean error)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from market.models import TaskAward, TaskBid, TaskOrder, TaskReceipt, TaskResult
from market.states import table_for


def allows(row, verb: str) -> bool:
    """True when the row's transition table has `verb` from its current state."""
    return table_for(type(row)).find(row.status, verb) is not None


@dataclass
class TaskActions:
    cancel: bool = False
    bid: bool = False
    award_bids: set[str] = field(default_factory=set)  # bid ids the viewer may award
    withdraw_bids: set[str] = field(default_factory=set)
    submit: bool = False
    review: bool = False
    dispute: bool = False


def task_actions(*, task: TaskOrder, bids: list[TaskBid], actor_id: str, now: datetime | None = None) -> TaskActions:
    """`task` as task_detail gives it (visible_award, visible_result, visible_receipt)."""
    now = now or timezone.now()
    creator = actor_id == task.creator_actor_id
    award: TaskAward | None = task.visible_award
    result: TaskResult | None = task.visible_result
    receipt: TaskReceipt | None = task.visible_receipt
    out = TaskActions()
    live = task.expires_at > now
    out.cancel = creator and (
        allows(task, "cancel")
        or (
            allows(task, "cancel_undelivered")
            and award is not None
            and award.status == TaskAward.Status.ACTIVE
            and award.deliver_by < now
            and result is None
        )
    )
    awardable = allows(task, "award") and live
    out.bid = (
        not creator and awardable and not any(b.bidder_actor_id == actor_id and allows(b, "withdraw") for b in bids)
    )
    for b in bids:
        if creator and awardable and allows(b, "accept"):
            out.award_bids.add(b.bid_id)
        if b.bidder_actor_id == actor_id and allows(b, "withdraw") and task.status == TaskOrder.Status.OPEN:
            out.withdraw_bids.add(b.bid_id)
    deliverer = award is not None and award.bid.bidder_actor_id == actor_id
    out.submit = deliverer and award.status == TaskAward.Status.ACTIVE and result is None
    out.review = creator and result is not None and allows(result, "accept") and result.review_deadline > now
    out.dispute = (
        receipt is not None
        and receipt.deliverer_actor_id == actor_id
        and allows(receipt, "dispute")
        and receipt.dispute_opens_at is not None
        and receipt.dispute_opens_at <= now <= receipt.dispute_deadline
    )
    return out
