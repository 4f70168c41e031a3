"""The operator's figures (staff): the market at a glance and the open settlements queue.

Every figure is a count or a sum over the database, or a page of a bounded size, so the overview
costs the same number of queries however large the market grows. The lists behind it (resources,
leases, ledger, disputes) are market.selectors.operator_lists. The web3.admin.* methods and the
console's staff pages read through these same functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min, Prefetch, Q, Sum
from django.utils import timezone

from market.models import (
    Alert,
    Dispute,
    Lease,
    MetricReading,
    OperationFailure,
    Resource,
    Settlement,
    TaskReceipt,
    TaskResult,
    Transfer,
)
from market.money import currencies
from market.selectors.audit import audit_health
from market.selectors.monitor import firing_alerts
from market.selectors.resources import SWEEP_GRACE

QUEUE_SIZE = 10
# What an open settlement waits for, by code (the console shows the words).
WAITING_FOR = {
    "lease_in_use": "the lease to end (at its expiry, or when revoked)",
    "lease_expiry": "the leases.expire sweep: the lease has expired",
    "delivery": "the awarded bidder's result",
    "review": "the creator's review of the result",
    "dispute_window": "a dispute, or its window to close",
    "ruling": "an arbitrator's ruling",
    "appeal_window": "the appeal window to close",
    "payout": "the payout sweep (the payout is due)",
    "unknown": "nothing the market knows of: look at its trace",
}
AGE_BUCKETS = (("lt1h", 3600), ("lt24h", 86400), ("lt7d", 7 * 86400))


@dataclass(frozen=True)
class QueuedSettlement:
    """An open settlement, what it waits for (a WAITING_FOR code), until when (`due_at`, if it
    has a deadline), and whether that deadline has passed (`overdue`)."""

    settlement: Settlement
    object_type: str
    object_id: str
    waiting_for: str
    due_at: datetime | None
    overdue: bool
    age_sec: int

    @property
    def waiting_text(self) -> str:
        return WAITING_FOR[self.waiting_for]


def _lease_wait(lease: Lease, now: datetime) -> tuple[str, datetime | None, bool]:
    if lease.status == Lease.Status.ACTIVE and lease.expires_at > now:
        return "lease_in_use", lease.expires_at, False
    return "lease_expiry", lease.expires_at, now - lease.expires_at > SWEEP_GRACE


def _receipt_wait(receipt: TaskReceipt, now: datetime) -> tuple[str, datetime | None, bool]:
    if receipt.status == TaskReceipt.Status.DISPUTED:
        dispute = receipt.latest_dispute
        if dispute is None or dispute.status in Dispute.LIVE:
            return "ruling", None, False
        if receipt.payout_due_at and receipt.payout_due_at > now:
            return "appeal_window", receipt.payout_due_at, False
        return "payout", receipt.payout_due_at, True
    if receipt.result.status == TaskResult.Status.SUBMITTED and receipt.result.review_deadline > now:
        return "review", receipt.result.review_deadline, False
    due = receipt.payout_due_at
    if due and due <= now:
        return "payout", due, now - due > SWEEP_GRACE
    return "dispute_window", due or receipt.dispute_deadline, False


def queued(settlements: list[Settlement], now: datetime | None = None) -> list[QueuedSettlement]:
    """Open settlements (loaded by settlement_queue) with what each waits for."""
    now = now or timezone.now()
    out = []
    for s in settlements:
        lease = getattr(s, "lease", None)
        award = getattr(s, "task_award", None)
        receipt = getattr(s, "task_receipt", None)
        if lease is not None:
            kind, oid = "lease", lease.lease_id
            waiting, due, overdue = _lease_wait(lease, now)
        elif receipt is not None:
            disputes = receipt.disputes_newest
            receipt.latest_dispute = disputes[0] if disputes else None
            kind, oid = "task", receipt.task.task_id
            waiting, due, overdue = _receipt_wait(receipt, now)
        elif award is not None:
            kind, oid = "task", award.task.task_id
            waiting, due, overdue = "delivery", award.deliver_by, award.deliver_by < now
        else:
            ref_type, _, ref_id = s.reference.partition(":")
            kind, oid, waiting, due, overdue = (
                ref_type or "settlement",
                ref_id or s.settlement_id,
                "unknown",
                None,
                False,
            )
        age = int((now - s.created_at).total_seconds())
        out.append(QueuedSettlement(s, kind, oid, waiting, due, overdue, age))
    return out


def settlement_queue(*, limit: int = QUEUE_SIZE) -> list[QueuedSettlement]:
    """The oldest open settlements first, each with what it waits for (a fixed number of queries)."""
    qs = (
        Settlement.objects.filter(status__in=Settlement.OPEN)
        .select_related(
            "lease",
            "task_award__task",
            "task_receipt__task",
            "task_receipt__result",
        )
        .prefetch_related(
            Prefetch("task_receipt__disputes", queryset=Dispute.objects.order_by("-pk"), to_attr="disputes_newest")
        )
        .order_by("created_at", "pk")
    )
    return queued(list(qs[:limit]))


@dataclass(frozen=True)
class Overview:
    now: datetime
    open_settlements: int
    open_by_age: dict[str, int]
    locked_by_currency: dict[str, int]
    queue: list[QueuedSettlement]
    volume_24h: dict[str, int]
    volume_7d: dict[str, int]
    supply: dict[str, Any]
    disputes: dict[str, Any]
    alerts: list[Alert]
    audit: dict[str, Any]
    invariants: dict[str, Any]
    failed_sweeps: list[dict[str, Any]] = field(default_factory=list)
    # The health by part, which the caller adds (the parts are registered outside the market).
    market_status: Any = None


def settled_volume(since: datetime) -> dict[str, int]:
    """Per configured currency: what escrow released to payees since then (money that changed hands)."""
    out = dict.fromkeys(currencies(), 0)
    rows = (
        Transfer.objects.filter(code=Transfer.Code.ESCROW_RELEASE, created_at__gte=since)
        .values("currency")
        .annotate(total=Sum("amount"))
    )
    for row in rows:
        out[row["currency"]] = row["total"] or 0
    return out


def _open_settlements(now: datetime) -> tuple[int, dict[str, int], dict[str, int]]:
    buckets = {name: Count("pk", filter=Q(created_at__gt=now - timedelta(seconds=sec))) for name, sec in AGE_BUCKETS}
    counts = Settlement.objects.filter(status__in=Settlement.OPEN).aggregate(total=Count("pk"), **buckets)
    by_age, below = {}, 0
    for name, _ in AGE_BUCKETS:
        by_age[name] = counts[name] - below
        below = counts[name]
    by_age["older"] = counts["total"] - below
    locked = dict.fromkeys(currencies(), 0)
    for row in (
        Settlement.objects.filter(status__in=Settlement.OPEN)
        .values("currency")
        .annotate(held=Sum("locked") - Sum("released") - Sum("refunded"))
    ):
        locked[row["currency"]] = row["held"] or 0
    return counts["total"], by_age, locked


def stuck_lease_count(now: datetime | None = None) -> int:
    """Active leases more than the expiry sweep's grace past their expiry."""
    now = now or timezone.now()
    return Lease.objects.filter(status=Lease.Status.ACTIVE, expires_at__lt=now - SWEEP_GRACE).count()


def _supply(now: datetime) -> dict[str, Any]:
    by_kind = dict.fromkeys(Resource.Kind.values, 0)
    for row in Resource.objects.filter(status=Resource.Status.PUBLISHED).values("kind").annotate(n=Count("pk")):
        by_kind[row["kind"]] = row["n"]
    leases = Lease.objects.aggregate(
        active=Count("pk", filter=Q(status=Lease.Status.ACTIVE)),
        stuck=Count("pk", filter=Q(status=Lease.Status.ACTIVE, expires_at__lt=now - SWEEP_GRACE)),
    )
    return {
        "published": sum(by_kind.values()),
        "unpublished": Resource.objects.filter(status=Resource.Status.UNPUBLISHED).count(),
        "byKind": by_kind,
        "activeLeases": leases["active"],
        "stuckLeases": leases["stuck"],
    }


def _disputes(now: datetime) -> dict[str, Any]:
    figures = Dispute.objects.aggregate(
        open=Count("pk", filter=Q(status=Dispute.Status.OPEN)),
        appealed=Count("pk", filter=Q(status=Dispute.Status.APPEALED)),
        awaiting_payout=Count("pk", filter=Q(ruled_at__isnull=False, paid_out_at__isnull=True)),
        oldest=Min("created_at", filter=Q(status__in=Dispute.LIVE)),
    )
    oldest = figures.pop("oldest")
    return {
        "open": figures["open"],
        "appealed": figures["appealed"],
        "awaitingPayout": figures["awaiting_payout"],
        "oldestAgeSec": int((now - oldest).total_seconds()) if oldest else None,
    }


def _audit(now: datetime) -> dict[str, Any]:
    health = audit_health(now)
    return {
        "lastCheckpoint": health["lastCheckpoint"],
        "unsealed": health["unsealed"],
        "unsealedAgeSec": health["unsealedAgeSec"],
        "anchorsWaiting": health["anchorsWaiting"],
        "anchorLagSec": health["anchorLagSec"],
        "lastAnchorError": health["lastAnchorError"],
    }


def invariant_status() -> dict[str, Any]:
    """The invariant monitors as the monitor job last read them (they scan whole tables, so the
    overview never runs them itself): ok, violated or unknown (never read yet)."""
    reading = MetricReading.objects.filter(metric="invariant_violations").first()
    if reading is None:
        return {"state": "unknown", "violations": 0, "measuredAt": None, "monitors": []}
    found = reading.details.get("violations", []) if isinstance(reading.details, dict) else []
    return {
        "state": "violated" if reading.value else "ok",
        "violations": int(reading.value),
        "measuredAt": reading.measured_at,
        "monitors": [{"monitor": v.get("monitor", ""), "count": v.get("count", 0)} for v in found],
    }


def failed_sweeps(now: datetime | None = None) -> list[dict[str, Any]]:
    """The money sweeps that failed in the last day (newest failure first), each with its count:
    the ones a retry is offered for (a sweep finds its work by state, so running it again is safe)."""
    now = now or timezone.now()
    jobs = [f"job:{name}" for name in settings.WEB3_MONEY_JOBS]
    rows = (
        OperationFailure.objects.filter(operation__in=jobs, created_at__gte=now - timedelta(days=1))
        .values("operation")
        .annotate(failures=Count("pk"), last=Max("created_at"))
        .order_by()
    )
    out = [
        {"job": r["operation"].removeprefix("job:"), "failures": r["failures"], "lastFailedAt": r["last"]} for r in rows
    ]
    return sorted(out, key=lambda r: r["job"])


def operator_overview(now: datetime | None = None) -> Overview:
    now = now or timezone.now()
    total, by_age, locked = _open_settlements(now)
    return Overview(
        now=now,
        open_settlements=total,
        open_by_age=by_age,
        locked_by_currency=locked,
        queue=settlement_queue(),
        volume_24h=settled_volume(now - timedelta(days=1)),
        volume_7d=settled_volume(now - timedelta(days=7)),
        supply=_supply(now),
        disputes=_disputes(now),
        alerts=list(firing_alerts()[:50]),
        audit=_audit(now),
        invariants=invariant_status(),
        failed_sweeps=failed_sweeps(now),
    )
