"""The task market's objects on the wire: TaskOrder (and its detail view), TaskBid, TaskAward,
TaskResult and TaskReceipt, each read from its model instance."""

from __future__ import annotations

from rest_framework import serializers

from market.hashing import BID_HASH_FIELDS, TASK_HASH_FIELDS
from market.models import TaskAward, TaskBid, TaskOrder, TaskReceipt, TaskResult
from web3api.money import AmountOut
from web3api.shapes.fields import IsSet


class TaskAwardOut(serializers.Serializer):
    awardId = serializers.CharField(source="award_id")
    taskId = serializers.CharField(source="task.task_id")
    bidId = serializers.CharField(source="bid.bid_id")
    bidderActorId = serializers.CharField(source="bid.bidder_actor_id")
    settlementId = serializers.CharField(source="settlement.settlement_id")
    price = AmountOut(
        source="bid.price",
        currency="task.currency",
        help_text="The accepted bid's price, locked in escrow (decimal string).",
    )
    currency = serializers.CharField(source="task.currency")
    deliverBy = serializers.DateTimeField(source="deliver_by", help_text="awardedAt + etaSec.")
    status = serializers.ChoiceField(choices=TaskAward.Status.values)
    createdAt = serializers.DateTimeField(source="created_at")


class TaskResultOut(serializers.Serializer):
    resultId = serializers.CharField(
        source="result_id",
        help_text="tres_...; results delivered before results had their own prefix "
        "keep their res_... ids, and are found by them.",
    )
    taskId = serializers.CharField(source="task.task_id")
    bidId = serializers.CharField(source="bid.bid_id")
    delivererActorId = serializers.CharField(source="deliverer_actor_id")
    summary = serializers.CharField()
    artifacts = serializers.JSONField(help_text="[{name, sha256, uri?}]")
    status = serializers.ChoiceField(choices=TaskResult.Status.values)
    reviewDeadline = serializers.DateTimeField(source="review_deadline")
    reviewedAt = serializers.DateTimeField(source="reviewed_at", allow_null=True)
    reviewReason = serializers.CharField(source="review_reason", allow_blank=True)
    signed = IsSet(source="signature", help_text="True when the deliverer signed the result.")
    hash = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")


# `payoutWaitingFor` is what market.selectors.tasks.receipt_payout_state sets on the receipt.
class TaskReceiptOut(serializers.Serializer):
    receiptId = serializers.CharField(source="receipt_id")
    taskId = serializers.CharField(source="task.task_id")
    bidId = serializers.CharField(source="bid.bid_id")
    amount = AmountOut(help_text="The escrowed amount (decimal string).")
    currency = serializers.CharField()
    settlementId = serializers.CharField(source="settlement.settlement_id")
    settlementStatus = serializers.CharField(source="settlement.status")
    status = serializers.ChoiceField(choices=TaskReceipt.Status.values)
    disputeDeadline = serializers.DateTimeField(
        source="dispute_open_until", allow_null=True, help_text="The deliverer may dispute until then."
    )
    payoutDueAt = serializers.DateTimeField(
        source="payout_due_at", allow_null=True, help_text="When the window sweep moves the money."
    )
    payoutWaitingFor = serializers.CharField(
        source="payout_waiting_for", allow_null=True, help_text="What a ruling's payout waits for."
    )
    createdAt = serializers.DateTimeField(source="created_at")


class TaskOrderOut(serializers.Serializer):
    taskId = serializers.CharField(source="task_id")
    creatorActorId = serializers.CharField(source="creator_actor_id")
    title = serializers.CharField()
    requirements = serializers.CharField()
    budget = AmountOut()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=TaskOrder.Status.values)
    expiresAt = serializers.DateTimeField(source="expires_at")
    ttlSec = serializers.IntegerField(source="ttl_sec")
    reviewWindowSec = serializers.IntegerField(source="review_window_sec")
    requireSignatures = serializers.BooleanField(source="require_signatures")
    hash = serializers.CharField(help_text="sha256 over " + ", ".join(TASK_HASH_FIELDS))
    createdAt = serializers.DateTimeField(source="created_at")


# A task as market.selectors.tasks.task_detail gives it, with what its caller may see of its award,
# result and receipt.
class TaskDetailOut(TaskOrderOut):
    award = TaskAwardOut(
        source="visible_award", allow_null=True, help_text="The latest award (the creator and its bidder see it)."
    )
    result = TaskResultOut(source="visible_result", allow_null=True)
    receipt = TaskReceiptOut(source="visible_receipt", allow_null=True)


class TaskBidOut(serializers.Serializer):
    bidId = serializers.CharField(source="bid_id")
    taskId = serializers.CharField(source="task.task_id")
    bidderActorId = serializers.CharField(source="bidder_actor_id")
    price = AmountOut(currency="task.currency")
    currency = serializers.CharField(source="task.currency")
    etaSec = serializers.IntegerField(source="eta_sec")
    note = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=TaskBid.Status.values)
    signed = IsSet(source="signature")
    hash = serializers.CharField(help_text="sha256 over " + ", ".join(BID_HASH_FIELDS))
    createdAt = serializers.DateTimeField(source="created_at")
