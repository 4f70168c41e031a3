"""The task market: an order, its bids, the award (one escrow lock), the result and its receipt.

A TaskAward holds the settlement that locks the accepted bid's price from the creator for the
bidder. The TaskReceipt, created with the result, records what becomes of that settlement:
released to the deliverer, refunded to the creator, or held by a dispute.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from market.models.constraints import status_check


class TaskOrder(models.Model):
    class Status(models.TextChoices):
        OPEN = "task_open"
        AWARDED = "task_awarded"
        CLOSED = "task_closed"
        CANCELLED = "task_cancelled"
        EXPIRED = "task_expired"

    task_id = models.CharField(max_length=40, unique=True)
    creator_actor_id = models.CharField(max_length=42, db_index=True)
    title = models.CharField(max_length=200)
    requirements = models.TextField()
    budget = models.BigIntegerField()
    currency = models.CharField(max_length=10)
    ttl_sec = models.IntegerField()
    expires_at = models.DateTimeField()
    review_window_sec = models.IntegerField()
    require_signatures = models.BooleanField(default=False)
    hash = models.CharField(max_length=80)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            status_check("task_open", "task_awarded", "task_closed", "task_cancelled", "task_expired"),
            models.CheckConstraint(condition=Q(budget__gt=0), name="%(app_label)s_%(class)s_budget_positive"),
            models.CheckConstraint(
                condition=Q(review_window_sec__gt=0), name="%(app_label)s_%(class)s_review_window_positive"
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return self.task_id


class TaskBid(models.Model):
    class Status(models.TextChoices):
        SUBMITTED = "bid_submitted"
        WITHDRAWN = "bid_withdrawn"
        ACCEPTED = "bid_accepted"
        REJECTED = "bid_rejected"

    bid_id = models.CharField(max_length=40, unique=True)
    task = models.ForeignKey(TaskOrder, on_delete=models.PROTECT, related_name="bids")
    bidder_actor_id = models.CharField(max_length=42, db_index=True)
    price = models.BigIntegerField()
    task_budget = models.BigIntegerField(help_text="The task's budget when the bid was placed (budgets never change).")
    eta_sec = models.IntegerField()
    note = models.TextField(blank=True, default="")
    signature = models.CharField(max_length=132, blank=True, default="")
    hash = models.CharField(max_length=80)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            status_check("bid_submitted", "bid_withdrawn", "bid_accepted", "bid_rejected"),
            models.CheckConstraint(condition=Q(price__gt=0), name="%(app_label)s_%(class)s_price_positive"),
            models.CheckConstraint(
                condition=Q(price__lte=F("task_budget")), name="%(app_label)s_%(class)s_price_within_budget"
            ),
            models.CheckConstraint(condition=Q(eta_sec__gt=0), name="%(app_label)s_%(class)s_eta_positive"),
            models.UniqueConstraint(
                fields=["task", "bidder_actor_id"],
                condition=Q(status="bid_submitted"),
                name="%(app_label)s_%(class)s_one_live_bid",
            ),
        ]

    def __str__(self) -> str:
        return self.bid_id


class TaskAward(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "award_active"
        REVOKED = "award_revoked"

    award_id = models.CharField(max_length=40, unique=True)
    task = models.ForeignKey(TaskOrder, on_delete=models.PROTECT, related_name="awards")
    bid = models.OneToOneField(TaskBid, on_delete=models.PROTECT, related_name="award")
    settlement = models.OneToOneField("market.Settlement", on_delete=models.PROTECT, related_name="task_award")
    deliver_by = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            status_check("award_active", "award_revoked"),
            models.UniqueConstraint(
                fields=["task"], condition=Q(status="award_active"), name="%(app_label)s_%(class)s_one_active_award"
            ),
        ]
        indexes = [models.Index(fields=["status", "deliver_by"])]  # the undelivered-award sweep

    def __str__(self) -> str:
        return self.award_id


class TaskResult(models.Model):
    class Status(models.TextChoices):
        SUBMITTED = "result_submitted"
        ACCEPTED = "result_accepted"
        REJECTED = "result_rejected"

    result_id = models.CharField(max_length=40, unique=True)
    task = models.ForeignKey(TaskOrder, on_delete=models.PROTECT, related_name="results")
    award = models.OneToOneField(TaskAward, on_delete=models.PROTECT, related_name="result")
    bid = models.ForeignKey(TaskBid, on_delete=models.PROTECT, related_name="+")
    deliverer_actor_id = models.CharField(max_length=42, db_index=True)
    summary = models.TextField()
    artifacts = models.JSONField(default=list)
    signature = models.CharField(max_length=132, blank=True, default="")
    hash = models.CharField(max_length=80)
    review_deadline = models.DateTimeField()
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.TextField(blank=True, default="")
    review_signature = models.CharField(max_length=132, blank=True, default="")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [status_check("result_submitted", "result_accepted", "result_rejected")]

    def __str__(self) -> str:
        return self.result_id


class TaskReceipt(models.Model):
    class Status(models.TextChoices):
        PENDING = "receipt_pending"
        SETTLED = "receipt_settled"
        REFUNDED = "receipt_refunded"
        DISPUTED = "receipt_disputed"

    receipt_id = models.CharField(max_length=40, unique=True)
    task = models.ForeignKey(TaskOrder, on_delete=models.PROTECT, related_name="receipts")
    bid = models.ForeignKey(TaskBid, on_delete=models.PROTECT, related_name="+")
    result = models.OneToOneField(TaskResult, on_delete=models.PROTECT, related_name="receipt")
    settlement = models.OneToOneField("market.Settlement", on_delete=models.PROTECT, related_name="task_receipt")
    creator_actor_id = models.CharField(max_length=42, db_index=True)
    deliverer_actor_id = models.CharField(max_length=42, db_index=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=10)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    dispute_opens_at = models.DateTimeField(
        null=True, blank=True, help_text="When the deliverer may first open a dispute."
    )
    dispute_deadline = models.DateTimeField(null=True, blank=True)
    payout_due_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            status_check("receipt_pending", "receipt_settled", "receipt_refunded", "receipt_disputed"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="%(app_label)s_%(class)s_amount_positive"),
        ]
        indexes = [models.Index(fields=["status", "dispute_deadline"])]

    def __str__(self) -> str:
        return self.receipt_id

    @property
    def dispute_open_until(self):
        """The deliverer may open a dispute until then; None once the receipt is no longer pending
        (settled, refunded, or already disputed)."""
        return self.dispute_deadline if self.status == self.Status.PENDING else None
