"""Agent sessions: the unit of an agent's work and of its spending.

A prepaid session locks its budget once, as one settlement (owner -> the market's session escrow
account, SESSION_ESCROW); the leases issued inside it hold no settlement of their own and draw on
that lock. A trusted session locks nothing: its budget is a cap, paid from the owner's free balance.
Usage accrues per call as a DebitNote and per provider on the session's SessionLine; lines are
released to their providers in batches (every WEB3_SESSION_BATCH_UNITS units or
WEB3_SESSION_BATCH_SEC seconds, and at settlement), never one ledger transfer per call.

SpendCounter keeps what a delegation (an agent token and the tokens issued from it) spent per UTC
day and currency, in total (provider '') and per provider: the rows the daily caps are checked
against, locked when a spend is reserved.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

SESSION_ESCROW = "sessions"  # owner of the account prepaid sessions lock their budgets to


class Session(models.Model):
    class Status(models.TextChoices):
        PENDING_APPROVAL = "session_pending_approval"
        OPEN = "session_open"
        SETTLED = "session_settled"
        DECLINED = "session_declined"
        EXPIRED = "session_expired"  # its approval lapsed: nothing was ever locked

    class Mode(models.TextChoices):
        PREPAID = "prepaid"
        TRUSTED = "trusted"

    session_id = models.CharField(max_length=40, unique=True)
    owner_actor_id = models.CharField(max_length=42, db_index=True)
    delegation_id = models.CharField(max_length=40, blank=True, default="", db_index=True)
    agent_token_id = models.CharField(max_length=40, blank=True, default="")
    agent_label = models.CharField(max_length=80, blank=True, default="")
    policy = models.JSONField(null=True, blank=True, help_text="The agent's spend policy when it opened (null: owner).")
    label = models.CharField(max_length=80, blank=True, default="")
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.PREPAID)
    currency = models.CharField(max_length=10)
    budget = models.BigIntegerField()
    accrued = models.BigIntegerField(default=0)
    released = models.BigIntegerField(default=0)
    settlement = models.OneToOneField(
        "market.Settlement", on_delete=models.PROTECT, related_name="session", null=True, blank=True
    )
    # Created open, or waiting for its owner's approval (then the table moves it on).
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.PENDING_APPROVAL)
    ttl_sec = models.IntegerField()
    expires_at = models.DateTimeField()
    approval_expires_at = models.DateTimeField(null=True, blank=True)
    last_release_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "session_pending_approval",
                        "session_open",
                        "session_settled",
                        "session_declined",
                        "session_expired",
                    ]
                ),
                name="%(app_label)s_%(class)s_status",
            ),
            models.CheckConstraint(condition=Q(mode__in=["prepaid", "trusted"]), name="%(app_label)s_%(class)s_mode"),
            models.CheckConstraint(condition=Q(budget__gt=0), name="%(app_label)s_%(class)s_budget_positive"),
            models.CheckConstraint(
                condition=Q(released__gte=0) & Q(accrued__gte=F("released")) & Q(budget__gte=F("accrued")),
                name="%(app_label)s_%(class)s_accrued_within_budget",
            ),
            # A prepaid session that is open or settled holds its lock; a trusted one never has one.
            models.CheckConstraint(
                condition=Q(mode="trusted", settlement__isnull=True)
                | Q(mode="prepaid", status__in=["session_pending_approval", "session_declined", "session_expired"])
                | Q(mode="prepaid", settlement__isnull=False),
                name="%(app_label)s_%(class)s_prepaid_locked",
            ),
            models.CheckConstraint(
                condition=~Q(status="session_settled") | Q(settled_at__isnull=False, released=F("accrued")),
                name="%(app_label)s_%(class)s_settled_released",
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return self.session_id

    @property
    def remaining(self) -> int:
        return self.budget - self.accrued


class SessionLine(models.Model):
    """What a session owes one provider: accrued, and how much of it was released."""

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="lines")
    provider_actor_id = models.CharField(max_length=42)
    units = models.BigIntegerField(default=0)
    accrued = models.BigIntegerField(default=0)
    released = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "provider_actor_id"], name="%(app_label)s_%(class)s_one"),
            models.CheckConstraint(
                condition=Q(released__gte=0, units__gte=0) & Q(accrued__gte=F("released")),
                name="%(app_label)s_%(class)s_released_within_accrued",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} {self.provider_actor_id}"


class DebitNote(models.Model):
    """One call's usage inside a session (append-only in practice: never updated)."""

    note_id = models.CharField(max_length=40, unique=True)
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="notes")
    lease = models.ForeignKey("market.Lease", on_delete=models.PROTECT, related_name="debit_notes")
    provider_actor_id = models.CharField(max_length=42)
    usage_ref = models.CharField(max_length=120)
    units = models.BigIntegerField()
    reported_units = models.BigIntegerField(null=True, blank=True)
    amount = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "usage_ref"], name="%(app_label)s_%(class)s_one_per_ref"),
            models.CheckConstraint(condition=Q(amount__gte=0, units__gte=0), name="%(app_label)s_%(class)s_amount"),
        ]

    def __str__(self) -> str:
        return self.note_id


class SpendCounter(models.Model):
    delegation_id = models.CharField(max_length=40)
    currency = models.CharField(max_length=10)
    day = models.DateField()
    provider_actor_id = models.CharField(max_length=42, blank=True, default="", help_text="'': every provider.")
    amount = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["delegation_id", "currency", "day", "provider_actor_id"], name="%(app_label)s_%(class)s_one"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="%(app_label)s_%(class)s_amount"),
        ]

    def __str__(self) -> str:
        return f"{self.delegation_id} {self.day} {self.provider_actor_id or '*'}"
