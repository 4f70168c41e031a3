"""Read-only admin for the task market and disputes (disputes show their evidence inline)."""

from django.contrib import admin

from market.admin.base import ReadOnlyAdmin
from market.models import Dispute, DisputeEvidence, TaskAward, TaskBid, TaskOrder, TaskReceipt, TaskResult


@admin.register(TaskOrder)
class TaskOrderAdmin(ReadOnlyAdmin):
    list_display = ("task_id", "status", "title", "creator_actor_id", "budget", "currency", "expires_at", "created_at")
    list_filter = ("status", "currency", "require_signatures")
    search_fields = ("task_id", "title", "creator_actor_id")
    money = {"budget": "currency"}


@admin.register(TaskBid)
class TaskBidAdmin(ReadOnlyAdmin):
    list_display = ("bid_id", "status", "task", "bidder_actor_id", "price", "eta_sec", "created_at")
    list_filter = ("status",)
    search_fields = ("bid_id", "task__task_id", "bidder_actor_id")
    list_select_related = ("task",)
    money = dict.fromkeys(("price", "task_budget"), "task__currency")


@admin.register(TaskAward)
class TaskAwardAdmin(ReadOnlyAdmin):
    list_display = ("award_id", "status", "task", "bid", "settlement", "deliver_by", "created_at")
    list_filter = ("status",)
    search_fields = ("award_id", "task__task_id", "bid__bid_id", "settlement__settlement_id")
    list_select_related = ("task", "bid", "settlement")


@admin.register(TaskResult)
class TaskResultAdmin(ReadOnlyAdmin):
    list_display = ("result_id", "status", "task", "deliverer_actor_id", "review_deadline", "reviewed_at")
    list_filter = ("status",)
    search_fields = ("result_id", "task__task_id", "deliverer_actor_id")
    list_select_related = ("task",)


@admin.register(TaskReceipt)
class TaskReceiptAdmin(ReadOnlyAdmin):
    list_display = (
        "receipt_id",
        "status",
        "task",
        "amount",
        "currency",
        "dispute_deadline",
        "payout_due_at",
        "settled_at",
    )
    list_filter = ("status", "currency")
    search_fields = ("receipt_id", "task__task_id", "creator_actor_id", "deliverer_actor_id")
    list_select_related = ("task",)
    money = {"amount": "currency"}


class DisputeEvidenceInline(admin.TabularInline):
    model = DisputeEvidence
    fields = ("evidence_id", "submitter_actor_id", "kind", "sha256", "uri", "content", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = (
        "dispute_id",
        "status",
        "round",
        "task",
        "initiator_actor_id",
        "decision",
        "payee_share_bps",
        "arbitrator_actor_id",
        "appeal_deadline",
        "paid_out_at",
        "created_at",
    )
    list_filter = ("status", "decision", "round", "arbitrator_type")
    search_fields = ("dispute_id", "task__task_id", "creator_actor_id", "deliverer_actor_id", "arbitrator_actor_id")
    list_select_related = ("task",)
    inlines = [DisputeEvidenceInline]


@admin.register(DisputeEvidence)
class DisputeEvidenceAdmin(ReadOnlyAdmin):
    list_display = ("evidence_id", "dispute", "submitter_actor_id", "kind", "sha256", "created_at")
    list_filter = ("kind",)
    search_fields = ("evidence_id", "dispute__dispute_id", "submitter_actor_id", "sha256")
    list_select_related = ("dispute",)
