"""Accounts and transfers: the authoritative double-entry ledger (after TigerBeetle).

Every Transfer debits one account and credits another by the same positive amount, so per
currency the balances sum to zero. Escrow is a two-phase transfer: a `pending` transfer reserves
the amount (payer's debits_pending, payee's credits_pending), later `post_pending` transfers move
all or part of it to posted, and one `void_pending` returns the rest.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from market.money import format_amount


class Account(models.Model):
    class Kind(models.TextChoices):
        ACTOR = "actor"  # an actor's money held by the market; never below zero
        EXTERNAL = "external"  # the outside world: deposits come from it, withdrawals go to it
        REVENUE = "revenue"  # the platform's fees

    actor_id = models.CharField(max_length=42, help_text="Owner: a wallet address, or 'system'.")
    currency = models.CharField(max_length=10)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ACTOR)
    debits_posted = models.BigIntegerField(default=0)
    credits_posted = models.BigIntegerField(default=0)
    debits_pending = models.BigIntegerField(default=0)
    credits_pending = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["actor_id", "currency", "kind"], name="%(app_label)s_%(class)s_owner"),
            models.CheckConstraint(
                condition=Q(kind__in=["actor", "external", "revenue"]), name="%(app_label)s_%(class)s_kind"
            ),
            models.CheckConstraint(
                condition=Q(debits_posted__gte=0, credits_posted__gte=0, debits_pending__gte=0, credits_pending__gte=0),
                name="%(app_label)s_%(class)s_totals_nonnegative",
            ),
            # An actor's (and the platform's) account never goes below zero, pending debits included.
            models.CheckConstraint(
                condition=Q(kind="external") | Q(credits_posted__gte=F("debits_posted") + F("debits_pending")),
                name="%(app_label)s_%(class)s_no_overdraft",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.actor_id}:{self.currency}"

    @property
    def balance(self) -> int:
        """Posted balance (credit-normal)."""
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        return self.credits_posted - self.debits_posted - self.debits_pending

    @property
    def locked(self) -> int:
        return self.debits_pending


class Transfer(models.Model):
    """Immutable. The database refuses UPDATE, and DELETE unless the maintenance flag is set."""

    class Kind(models.TextChoices):
        POSTED = "posted"
        PENDING = "pending"
        POST_PENDING = "post_pending"
        VOID_PENDING = "void_pending"

    class Code(models.TextChoices):
        DEPOSIT = "deposit"
        WITHDRAWAL = "withdrawal"
        TRANSFER = "transfer"
        ESCROW_LOCK = "escrow_lock"
        ESCROW_RELEASE = "escrow_release"
        ESCROW_REFUND = "escrow_refund"
        FEE = "fee"

    transfer_id = models.CharField(max_length=40, unique=True)
    debit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="debits")
    credit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="credits")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=10)
    kind = models.CharField(max_length=14, choices=Kind.choices)
    code = models.CharField(max_length=20, choices=Code.choices)
    pending = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="resolutions",
        help_text="For post_pending / void_pending: the pending transfer they resolve.",
    )
    settlement = models.ForeignKey(
        "market.Settlement", null=True, blank=True, on_delete=models.PROTECT, related_name="transfers"
    )
    reference = models.CharField(
        max_length=120,
        blank=True,
        default="",
        db_index=True,
        help_text="The object that caused it, e.g. lease:lease_...",
    )
    idempotency_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="%(app_label)s_%(class)s_amount_positive"),
            models.CheckConstraint(
                condition=~Q(debit_account=F("credit_account")), name="%(app_label)s_%(class)s_two_accounts"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["posted", "pending", "post_pending", "void_pending"]),
                name="%(app_label)s_%(class)s_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["posted", "pending"], pending__isnull=True)
                | Q(kind__in=["post_pending", "void_pending"], pending__isnull=False),
                name="%(app_label)s_%(class)s_pending_link",
            ),
        ]
        indexes = [
            models.Index(fields=["debit_account", "created_at"]),
            models.Index(fields=["credit_account", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.transfer_id} {self.code} {format_amount(self.amount, self.currency)} {self.currency}"


class MaintenanceFlag(models.Model):
    """One row (id=1). While allow_delete is true the append-only triggers let DELETE through;
    only test teardown and documented retention tooling set it. Unmanaged: the table is created
    by a migration and is outside Django's flush, so flushing never races with the flag."""

    id = models.PositiveSmallIntegerField(primary_key=True)
    allow_delete = models.BooleanField(default=False)

    class Meta:
        managed = False
        db_table = "market_maintenance"

    def __str__(self) -> str:
        return f"maintenance allow_delete={self.allow_delete}"
