"""Leases, their invocations and usage entries.

A Lease holds one settlement (the consumer's locked budget, maxCost) and the pricing fixed when it
was issued. Each invocation through the proxy reserves its most possible cost while it runs (a
pending Invocation: counted for maxConcurrent and against the budget until it finishes or its
reservation ages out), then charges its actual usage. Every charge is a partial escrow release
with one UsageEntry beside its transfer. An entry's `units` are the units its amount pays for;
what was reported beyond them (past the reservation or the budget) is kept apart, in
`reported_units`, so the ledger never claims units that were not paid for.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from market.models.constraints import status_check


class Lease(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "lease_active"
        EXPIRED = "lease_expired"
        REVOKED = "lease_revoked"
        EXHAUSTED = "lease_exhausted"

    lease_id = models.CharField(max_length=40, unique=True)
    resource = models.ForeignKey("market.Resource", on_delete=models.PROTECT, related_name="leases")
    consumer_actor_id = models.CharField(max_length=42, db_index=True)
    provider_actor_id = models.CharField(max_length=42, db_index=True)
    unit = models.CharField(max_length=8)
    unit_price = models.BigIntegerField()
    currency = models.CharField(max_length=10)
    policy = models.JSONField(default=dict, help_text="The resource's usage policy when the lease was issued.")
    max_cost = models.BigIntegerField()
    spent = models.BigIntegerField(default=0)
    ttl_sec = models.IntegerField()
    expires_at = models.DateTimeField()
    # A lease issued inside a prepaid or trusted session holds no settlement: it draws on its session's.
    settlement = models.OneToOneField(
        "market.Settlement", on_delete=models.PROTECT, related_name="lease", null=True, blank=True
    )
    session = models.ForeignKey(
        "market.Session", on_delete=models.PROTECT, related_name="leases", null=True, blank=True
    )
    hash = models.CharField(max_length=80)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            status_check("lease_active", "lease_expired", "lease_revoked", "lease_exhausted"),
            models.CheckConstraint(condition=Q(max_cost__gt=0), name="%(app_label)s_%(class)s_max_cost_positive"),
            models.CheckConstraint(
                condition=Q(spent__gte=0) & Q(spent__lte=F("max_cost")),
                name="%(app_label)s_%(class)s_spent_within_budget",
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="%(app_label)s_%(class)s_price_nonnegative"),
            models.CheckConstraint(
                condition=~Q(status="lease_exhausted") | Q(spent=F("max_cost")),
                name="%(app_label)s_%(class)s_exhausted_spent",
            ),
            models.CheckConstraint(
                condition=Q(status="lease_active") | Q(ended_at__isnull=False), name="%(app_label)s_%(class)s_ended_at"
            ),
            models.CheckConstraint(
                condition=Q(settlement__isnull=False, session__isnull=True)
                | Q(settlement__isnull=True, session__isnull=False),
                name="%(app_label)s_%(class)s_settlement_or_session",
            ),
            models.UniqueConstraint(
                fields=["session", "resource"],
                condition=Q(status="lease_active"),
                name="%(app_label)s_%(class)s_one_active_per_session_resource",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"]),
            # An actor's leases on each side, newest first (the console's list reads each in index order).
            models.Index(fields=["consumer_actor_id", "id"], name="market_lease_consumer_id"),
            models.Index(fields=["provider_actor_id", "id"], name="market_lease_provider_id"),
            # A provider's settled leases, counted for its reputation.
            models.Index(fields=["provider_actor_id", "status"], name="market_lease_provider_status"),
        ]

    def __str__(self) -> str:
        return self.lease_id

    @property
    def remaining(self) -> int:
        return self.max_cost - self.spent

    @property
    def per_units(self) -> int:
        from market.models.resources import PER_MILLION_UNITS

        return 1_000_000 if self.unit in PER_MILLION_UNITS else 1


class Invocation(models.Model):
    """One call through the proxy. While pending it holds `reserved` of the lease's budget."""

    class Status(models.TextChoices):
        PENDING = "invocation_pending"
        SUCCEEDED = "invocation_succeeded"
        FAILED = "invocation_failed"

    invocation_id = models.CharField(max_length=40, unique=True)
    lease = models.ForeignKey(Lease, on_delete=models.PROTECT, related_name="invocations")
    resource = models.ForeignKey("market.Resource", on_delete=models.PROTECT, related_name="invocations")
    reserved = models.BigIntegerField()
    reserved_units = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="The most units the call can use (what `reserved` pays for); null for "
        "calls reserved before it was kept.",
    )
    units = models.BigIntegerField(null=True, blank=True, help_text="Units billed: paid for by `cost`.")
    reported_units = models.BigIntegerField(
        null=True, blank=True, help_text="Units the provider reported or the proxy measured (null: none reported)."
    )
    cost = models.BigIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=24, blank=True, default="")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            status_check("invocation_pending", "invocation_succeeded", "invocation_failed"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="%(app_label)s_%(class)s_reserved"),
            models.CheckConstraint(
                condition=Q(cost__isnull=True) | Q(cost__gte=0, cost__lte=F("reserved")),
                name="%(app_label)s_%(class)s_cost_within_reservation",
            ),
            models.CheckConstraint(
                condition=Q(units__isnull=True) | Q(reserved_units__isnull=True) | Q(units__lte=F("reserved_units")),
                name="%(app_label)s_%(class)s_units_within_reservation",
            ),
        ]
        indexes = [
            models.Index(fields=["lease", "status", "started_at"]),
            models.Index(fields=["resource", "started_at"]),
        ]

    def __str__(self) -> str:
        return self.invocation_id


class UsageEntry(models.Model):
    """Usage charged to a lease: by the proxy (one per invocation) or appended by the provider."""

    class Source(models.TextChoices):
        PROXY = "proxy"
        PROVIDER = "provider"

    entry_id = models.CharField(max_length=40, unique=True, help_text="The release transfer's id, if any.")
    lease = models.ForeignKey(Lease, on_delete=models.PROTECT, related_name="usage_entries")
    transfer = models.OneToOneField(
        "market.Transfer",
        on_delete=models.PROTECT,
        related_name="usage",
        null=True,
        blank=True,
        help_text="None when the usage cost nothing.",
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    units = models.BigIntegerField(help_text="Units billed: those `amount` pays for.")
    reported_units = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="Units reported (by the provider, or measured by the proxy); more than "
        "`units` when the report exceeded the reservation or the budget. Null: none reported (the reservation was "
        "billed), or an entry written before reports were kept.",
    )
    amount = models.BigIntegerField()
    usage_ref = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lease", "usage_ref"], name="%(app_label)s_%(class)s_one_per_ref"),
            models.CheckConstraint(
                condition=Q(source__in=["proxy", "provider"]), name="%(app_label)s_%(class)s_source"
            ),
            models.CheckConstraint(condition=Q(units__gte=0), name="%(app_label)s_%(class)s_units_nonnegative"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="%(app_label)s_%(class)s_amount"),
            models.CheckConstraint(
                condition=Q(amount=0) | Q(transfer__isnull=False), name="%(app_label)s_%(class)s_charged_has_transfer"
            ),
            models.CheckConstraint(
                condition=Q(reported_units__isnull=True) | Q(units__lte=F("reported_units")),
                name="%(app_label)s_%(class)s_billed_within_reported",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.source} {self.units}"
