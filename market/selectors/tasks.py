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


def active_award(task: TaskOrder) -> TaskAward | None:
    return (
        TaskAward.objects.filter(task=task, status=TaskAward.Status.ACTIVE).select_related("bid", "settlement").first()
    )


def latest_award(task: TaskOrder) -> TaskAward | None:
    return TaskAward.objects.filter(task=task).select_related("bid", "settlement").order_by("-pk").first()


def task_result(task: TaskOrder) -> TaskResult | None:
    return TaskResult.objects.filter(task=task).select_related("task", "award").order_by("-pk").first()


def task_receipt(task: TaskOrder) -> TaskReceipt | None:
    return TaskReceipt.objects.filter(task=task).select_related("settlement").order_by("-pk").first()


def receipt_dispute(receipt: TaskReceipt) -> Dispute | None:
    return Dispute.objects.filter(receipt=receipt).order_by("-pk").first()


def result_get(*, result_id: str, actor_id: str, is_staff: bool = False) -> TaskResult:
    result = TaskResult.objects.select_related("task").filter(result_id=result_id).first()
    if result is None or not (is_staff or actor_id in (result.task.creator_actor_id, result.deliverer_actor_id)):
        raise NotFound("no such result")
    return result


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
