"""Task market reads and their visibility.

An open task is a public offer: every signed-in actor can see it (and bid). Once it leaves
task_open, only its creator, the actors who bid on it, and staff can see it; for anyone else it
does not exist. A bid is seen by its bidder and the task's creator; results and receipts by the
creator and the deliverer.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet

from market.audit.payout_gate import payout_wait_reason
from market.errors import InvalidArgument, NotFound
from market.models import Dispute, TaskAward, TaskBid, TaskOrder, TaskReceipt, TaskResult


def task_visible(task: TaskOrder, *, actor_id: str | None, is_staff: bool = False) -> bool:
    if is_staff or task.status == TaskOrder.Status.OPEN or actor_id == task.creator_actor_id:
        return True
    return bool(actor_id) and TaskBid.objects.filter(task=task, bidder_actor_id=actor_id).exists()


def task_get(*, task_id: str, actor_id: str, is_staff: bool = False) -> TaskOrder:
    task = TaskOrder.objects.filter(task_id=task_id).first()
    if task is None or not task_visible(task, actor_id=actor_id, is_staff=is_staff):
        raise NotFound("no such task")
    return task


class TaskFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=TaskOrder.Status.choices)
    creatorActorId = django_filters.CharFilter(field_name="creator_actor_id")  # noqa: N815
    currency = django_filters.CharFilter(field_name="currency")

    class Meta:
        model = TaskOrder
        fields = ["status", "creatorActorId", "currency"]


def _filtered(fs_class, data: dict[str, Any], qs: QuerySet) -> QuerySet:
    fs = fs_class({k: v for k, v in data.items() if v not in (None, "")}, queryset=qs)
    if not fs.is_valid():
        raise InvalidArgument("invalid filter", details={"fields": {k: str(v[0]) for k, v in fs.errors.items()}})
    return fs.qs


def task_list(*, actor_id: str, filters: dict[str, Any], is_staff: bool = False) -> QuerySet[TaskOrder]:
    qs = TaskOrder.objects.all()
    if not is_staff:
        bid_on = TaskBid.objects.filter(task=OuterRef("pk"), bidder_actor_id=actor_id)
        qs = qs.filter(Q(status=TaskOrder.Status.OPEN) | Q(creator_actor_id=actor_id) | Exists(bid_on))
    return _filtered(TaskFilter, filters, qs)


def bid_list(*, task: TaskOrder, actor_id: str, is_staff: bool = False) -> QuerySet[TaskBid]:
    """The creator (and staff) see every bid of the task; anyone else only its own."""
    qs = TaskBid.objects.filter(task=task).select_related("task")
    if not (is_staff or actor_id == task.creator_actor_id):
        qs = qs.filter(bidder_actor_id=actor_id)
    return qs


def task_detail(*, task_id: str, actor_id: str, is_staff: bool = False) -> TaskOrder:
    """The task (as task_get shows it) with what the caller may see of its latest award, the
    task's latest result and receipt, as `visible_award`, `visible_result` and `visible_receipt`:
    None when there is none, or when the caller is neither the task's creator, the awarded bidder
    nor staff. The receipt comes through receipt_payout_state."""
    task = task_get(task_id=task_id, actor_id=actor_id, is_staff=is_staff)
    task.visible_award = task.visible_result = task.visible_receipt = None
    award = TaskAward.objects.filter(task=task).select_related("bid", "settlement").order_by("-pk").first()
    if award is None or not (is_staff or actor_id in (task.creator_actor_id, award.bid.bidder_actor_id)):
        return task
    award.task = task
    task.visible_award = award
    result = TaskResult.objects.filter(task=task).select_related("bid").order_by("-pk").first()
    if result is None:
        return task
    result.task = task
    task.visible_result = result
    receipt = TaskReceipt.objects.filter(task=task).select_related("bid", "settlement").order_by("-pk").first()
    if receipt is not None:
        receipt.task = task
        task.visible_receipt = receipt_payout_state(receipt)
    return task


def receipt_payout_state(receipt: TaskReceipt) -> TaskReceipt:
    """The receipt with `payout_waiting_for`: what the payout of a ruling on it waits for
    (market.audit.payout_gate), or None when no ruling is waiting to be paid."""
    dispute = Dispute.objects.filter(receipt=receipt).order_by("-pk").first()
    waiting = None
    if dispute is not None and dispute.ruled_at is not None and dispute.paid_out_at is None:
        waiting = payout_wait_reason(dispute)
    receipt.payout_waiting_for = waiting
    return receipt


def market_counts() -> dict[str, int]:
    """Figures for the status summary. A payout is overdue when it is due more than 10 minutes ago
    and still not made (the sweeps run every minute)."""
    from datetime import timedelta

    from django.utils import timezone

    late = timezone.now() - timedelta(minutes=10)
    return {
        "openTasks": TaskOrder.objects.filter(status=TaskOrder.Status.OPEN).count(),
        "awardedTasks": TaskOrder.objects.filter(status=TaskOrder.Status.AWARDED).count(),
        "liveDisputes": Dispute.objects.filter(status__in=Dispute.LIVE).count(),
        "overduePayouts": TaskReceipt.objects.filter(
            status__in=(TaskReceipt.Status.PENDING, TaskReceipt.Status.DISPUTED), payout_due_at__lt=late
        ).count(),
    }
