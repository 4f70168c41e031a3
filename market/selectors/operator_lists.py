"""The operator's lists (staff): every resource, lease, transfer, audit event and dispute, with
what an operator needs beside each row, read in a fixed number of queries per page (subqueries and
joins, never a query per row). Filters are FilterSets applied here, as in every selector."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import django_filters
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from market.errors import InvalidArgument
from market.models import (
    AuditEvent,
    Checkpoint,
    Dispute,
    IndexReport,
    Invocation,
    Lease,
    Resource,
    Settlement,
    Transfer,
)
from market.selectors.audit import audit_trace
from market.selectors.disputes import dispute_list, disputes_sealed
from market.selectors.index import HEALTH_WINDOW, PROVIDER_FAULTS, STALE_AFTER, health_state
from market.selectors.resources import SWEEP_GRACE, ResourceFilter

SYNC_STATES = ["in_sync", "outdated", "stale", "unreported"]
RECENT_EVENTS = 20
TRACE_TYPES = ["resource", "lease", "settlement", "task", "dispute"]


def _filtered(fs: django_filters.FilterSet) -> QuerySet:
    if not fs.is_valid():
        raise InvalidArgument("invalid filter", details={"fields": {k: str(v[0]) for k, v in fs.errors.items()}})
    return fs.qs


def _subcount(model, **lookups) -> Coalesce:
    """A correlated COUNT of `model` rows of one resource (lookups name `resource=OuterRef("pk")`)."""
    qs = model.objects.filter(**lookups).order_by().values("resource")
    return Coalesce(Subquery(qs.annotate(n=Count("pk")).values("n")[:1], output_field=IntegerField()), Value(0))


# --- resources ------------------------------------------------------------------------------------
def operator_resources(*, filters: dict[str, Any], now: datetime | None = None) -> QuerySet[Resource]:
    """Every resource (any status unless filtered), each with `last_reported_at`, `reported_after_change`
    (its newest index report is younger than its last change), `active_leases`, `recent_calls` and
    `recent_failures` (the index's health window); operator_resources_shown adds health and sync."""
    now = now or timezone.now()
    since = now - HEALTH_WINDOW
    newest = IndexReport.objects.filter(resource=OuterRef("pk")).order_by("-reported_at", "-pk")
    qs = Resource.objects.annotate(
        last_reported_at=Subquery(newest.values("reported_at")[:1]),
        last_report_created_at=Subquery(newest.values("created_at")[:1]),
        active_leases=_subcount(Lease, resource=OuterRef("pk"), status=Lease.Status.ACTIVE),
        recent_calls=_subcount(
            Invocation,
            resource=OuterRef("pk"),
            started_at__gte=since,
            status__in=["invocation_succeeded", "invocation_failed"],
        ),
        recent_failures=_subcount(
            Invocation,
            resource=OuterRef("pk"),
            started_at__gte=since,
            status="invocation_failed",
            error_code__in=PROVIDER_FAULTS,
        ),
    )
    return _filtered(ResourceFilter({k: v for k, v in filters.items() if v not in (None, "")}, queryset=qs))


def operator_resources_shown(resources: list[Resource], now: datetime | None = None) -> list[Resource]:
    """A page of operator_resources with `health` (healthy | degraded | stale) and `index_sync`
    (in_sync | outdated: changed since its last report | stale: last report too old | unreported)."""
    now = now or timezone.now()
    for r in resources:
        r.health = health_state(r.last_reported_at, r.recent_calls, r.recent_failures, now)
        if r.last_reported_at is None:
            r.index_sync = "unreported"
        elif now - r.last_reported_at > STALE_AFTER:
            r.index_sync = "stale"
        elif r.last_report_created_at < r.updated_at:
            r.index_sync = "outdated"
        else:
            r.index_sync = "in_sync"
    return resources


# --- leases ---------------------------------------------------------------------------------------
class OperatorLeaseFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Lease.Status.choices)
    resourceId = django_filters.CharFilter(field_name="resource__resource_id")
    consumerActorId = django_filters.CharFilter(field_name="consumer_actor_id")
    providerActorId = django_filters.CharFilter(field_name="provider_actor_id")
    stuck = django_filters.BooleanFilter(field_name="stuck")

    class Meta:
        model = Lease
        fields = ["status", "resourceId", "consumerActorId", "providerActorId", "stuck"]


def operator_leases(*, filters: dict[str, Any], now: datetime | None = None) -> QuerySet[Lease]:
    """Every lease with its resource and settlement, `stuck` (active, more than the sweep's grace past
    its expiry) and `spent_bps` (spent / maxCost in basis points: the payment progress)."""
    now = now or timezone.now()
    qs = Lease.objects.select_related("resource", "settlement").annotate(
        stuck=ExpressionWrapper(
            Q(status=Lease.Status.ACTIVE, expires_at__lt=now - SWEEP_GRACE), output_field=BooleanField()
        ),
        spent_bps=ExpressionWrapper(F("spent") * 10000 / F("max_cost"), output_field=IntegerField()),
    )
    return _filtered(OperatorLeaseFilter({k: v for k, v in filters.items() if v not in (None, "")}, queryset=qs))


# --- ledger and audit -----------------------------------------------------------------------------
class OperatorTransferFilter(django_filters.FilterSet):
    currency = django_filters.CharFilter(field_name="currency")
    code = django_filters.ChoiceFilter(choices=Transfer.Code.choices)
    actorId = django_filters.CharFilter(method="filter_actor")
    reference = django_filters.CharFilter(field_name="reference")
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Transfer
        fields = ["currency", "code", "actorId", "reference", "since", "until"]

    def filter_actor(self, qs, name, value):
        return qs.filter(Q(debit_account__actor_id=value) | Q(credit_account__actor_id=value))


def operator_transfers(*, filters: dict[str, Any]) -> QuerySet[Transfer]:
    """Every transfer with both accounts and its settlement (one query per page)."""
    qs = Transfer.objects.select_related("debit_account", "credit_account", "settlement")
    return _filtered(OperatorTransferFilter({k: v for k, v in filters.items() if v not in (None, "")}, queryset=qs))


def _with_checkpoint(qs: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """Each event with `tree_size`: the first checkpoint covering it (its proof's), None while unsealed."""
    covering = Checkpoint.objects.filter(tree_size__gt=OuterRef("seq")).order_by("tree_size").values("tree_size")[:1]
    return qs.annotate(tree_size=Subquery(covering))


def recent_events(limit: int = RECENT_EVENTS) -> list[AuditEvent]:
    return list(_with_checkpoint(AuditEvent.objects.order_by("-pk"))[:limit])


@dataclass(frozen=True)
class Trace:
    """One object's audit events (oldest first, each with the `tree_size` of its checkpoint) and the
    transfers that name it."""

    object_type: str
    object_id: str
    events: list[AuditEvent]
    transfers: list[Transfer]


def object_trace(*, object_type: str, object_id: str, actor_id: str) -> Trace:
    """E_NOT_FOUND when the object has no events (the staff caller sees every object)."""
    events = audit_trace(object_type=object_type, object_id=object_id, actor_id=actor_id, is_staff=True)
    sizes = dict(
        _with_checkpoint(AuditEvent.objects.filter(pk__in=[e.pk for e in events])).values_list("pk", "tree_size")
    )
    for e in events:
        e.tree_size = sizes.get(e.pk)
    transfers = Transfer.objects.select_related("debit_account", "credit_account", "settlement")
    if object_type == "settlement":
        transfers = transfers.filter(settlement__settlement_id=object_id)
    elif object_type in ("lease", "task"):
        transfers = transfers.filter(reference=f"{object_type}:{object_id}")
    else:
        transfers = transfers.none()
    return Trace(object_type, object_id, events, list(transfers.order_by("pk")[:200]))


def latest_checkpoint() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-tree_size").first()


# --- disputes -------------------------------------------------------------------------------------
class OperatorDisputeFilter(django_filters.FilterSet):
    arbitratorActorId = django_filters.CharFilter(field_name="arbitrator_actor_id")
    partyActorId = django_filters.CharFilter(method="filter_party")

    class Meta:
        model = Dispute
        fields = ["arbitratorActorId", "partyActorId"]

    def filter_party(self, qs, name, value):
        return qs.filter(Q(creator_actor_id=value) | Q(deliverer_actor_id=value))


def operator_disputes(*, actor_id: str, filters: dict[str, Any]) -> QuerySet[Dispute]:
    """Every dispute (dispute_list as staff see it), with `evidence_count`; filter by status,
    arbitrator or party. A page is completed by disputes_sealed."""
    qs = dispute_list(actor_id=actor_id, filters={"status": filters.get("status")}, is_staff=True)
    rest = {k: filters.get(k) for k in ("arbitratorActorId", "partyActorId") if filters.get(k) not in (None, "")}
    return _filtered(OperatorDisputeFilter(rest, queryset=qs))


def operator_disputes_shown(disputes: list[Dispute], now: datetime | None = None) -> list[Dispute]:
    """A page of operator_disputes with its seal (disputes_sealed) and `age_sec`."""
    now = now or timezone.now()
    for d in disputes_sealed(disputes):
        d.age_sec = int((now - d.created_at).total_seconds())
        d.amount = d.receipt.amount
        d.currency = d.receipt.currency
    return disputes


def ruling_split(settlement: Settlement, payee_share_bps: int) -> tuple[int, int]:
    """What a ruling of `payee_share_bps` moves, in minor units: (to the payee, back to the payer),
    exactly as the payout computes it: floor(remaining x bps / 10000), the rest refunded."""
    payee = settlement.remaining * payee_share_bps // 10000
    return payee, settlement.remaining - payee
