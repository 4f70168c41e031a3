"""The invariant and stuck-state monitors: set-based scans of whole tables, each naming the
objects that break a ledger invariant or sit in a state past its deadline. Run by the
monitor.evaluate job (through the invariant_violations metric); other surfaces show that job's last
reading of them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import BigIntegerField, Exists, F, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from market.models import (
    Account,
    Lease,
    Settlement,
    TaskAward,
    TaskBid,
    TaskOrder,
    TaskReceipt,
    TaskResult,
    Transfer,
)

NAMED_MAX = 20  # objects named per monitor in an alert's details


def overdue_leases(now: datetime, grace: timedelta = timedelta(0)) -> QuerySet[Lease]:
    return Lease.objects.filter(status=Lease.Status.ACTIVE, expires_at__lt=now - grace)


def overdue_receipts(now: datetime, grace: timedelta = timedelta(0)) -> QuerySet[TaskReceipt]:
    return TaskReceipt.objects.filter(
        status__in=(TaskReceipt.Status.PENDING, TaskReceipt.Status.DISPUTED),
        payout_due_at__isnull=False,
        payout_due_at__lt=now - grace,
    )


def overdue_awards(now: datetime, grace: timedelta) -> QuerySet[TaskAward]:
    """Active awards of awarded tasks with no result, `grace` past deliverBy: the ones the
    tasks.undelivered sweep revokes when `grace` is WEB3_DELIVERY_GRACE_SEC."""
    return TaskAward.objects.filter(
        status=TaskAward.Status.ACTIVE, deliver_by__lt=now - grace, task__status=TaskOrder.Status.AWARDED
    ).exclude(Exists(TaskResult.objects.filter(award=OuterRef("pk"))))


# --- the monitors -------------------------------------------------------------
def _violations(monitor: str, message: str, kind: str, ids: list[str], count: int) -> list[dict[str, Any]]:
    """A check's answer: none when nothing is wrong (count 0), else its one violation naming the first ids."""
    if not count:
        return []
    return [{"monitor": monitor, "message": message, "objectType": kind, "objects": ids[:NAMED_MAX], "count": count}]


def _ids(qs: QuerySet, field_name: str) -> tuple[list[str], int]:
    count = qs.count()
    return (list(qs.order_by("pk").values_list(field_name, flat=True)[:NAMED_MAX]) if count else []), count


def ledger_sum_check(now: datetime) -> list[dict[str, Any]]:
    rows = (
        Account.objects.values("currency")
        .annotate(
            posted=Sum(F("credits_posted") - F("debits_posted")),
            pending=Sum(F("credits_pending") - F("debits_pending")),
        )
        .exclude(posted=0, pending=0)
    )
    bad = sorted(r["currency"] for r in rows)
    message = "the currency's account balances do not sum to zero"
    return _violations("ledger_sum_zero", message, "currency", bad, len(bad))


def settlement_transfers_check(now: datetime) -> list[dict[str, Any]]:
    zero = Value(0, output_field=BigIntegerField())
    qs = Settlement.objects.annotate(
        t_locked=Coalesce(Sum("transfers__amount", filter=Q(transfers__kind=Transfer.Kind.PENDING)), zero),
        t_released=Coalesce(Sum("transfers__amount", filter=Q(transfers__kind=Transfer.Kind.POST_PENDING)), zero),
        t_refunded=Coalesce(Sum("transfers__amount", filter=Q(transfers__kind=Transfer.Kind.VOID_PENDING)), zero),
    ).exclude(locked=F("t_locked"), released=F("t_released"), refunded=F("t_refunded"))
    bad = list(qs.order_by("pk").values_list("settlement_id", flat=True))
    message = "the settlement's amounts differ from its transfers"
    return _violations("settlement_matches_transfers", message, "settlement", bad, len(bad))


def account_hours_check(now: datetime) -> list[dict[str, Any]]:
    """The hourly totals the dashboard reads (market.models.AccountHour) equal the fold of the
    settled transfers, account by account."""
    from market.selectors.account_hours import mismatched_accounts

    ids, count = mismatched_accounts(NAMED_MAX)
    message = "the account's hourly totals differ from its transfers"
    return _violations("account_hours_match_transfers", message, "account", [str(i) for i in ids], count)


def open_bid_check(now: datetime) -> list[dict[str, Any]]:
    bids = TaskBid.objects.filter(status=TaskBid.Status.SUBMITTED).exclude(task__status=TaskOrder.Status.OPEN)
    ids, count = _ids(bids, "bid_id")
    return _violations("open_bid_on_closed_task", "an open bid on a task that is no longer open", "bid", ids, count)


def _grace() -> timedelta:
    return timedelta(seconds=2 * settings.WEB3_SWEEP_INTERVAL_SEC)


def stuck_lease_check(now: datetime) -> list[dict[str, Any]]:
    ids, count = _ids(overdue_leases(now, _grace()), "lease_id")
    message = "a lease still active two sweep intervals past its expiry"
    return _violations("lease_past_expiry", message, "lease", ids, count)


def stuck_receipt_check(now: datetime) -> list[dict[str, Any]]:
    ids, count = _ids(overdue_receipts(now, _grace()), "receipt_id")
    message = "a receipt not paid out two sweep intervals past its payout time"
    return _violations("receipt_past_payout", message, "receipt", ids, count)


def stuck_award_check(now: datetime) -> list[dict[str, Any]]:
    grace = timedelta(seconds=settings.WEB3_DELIVERY_GRACE_SEC) + _grace()
    ids, count = _ids(overdue_awards(now, grace), "award_id")
    message = "an award still active, with no result, the delivery grace plus two sweep intervals past its deliverBy"
    return _violations("award_past_delivery", message, "award", ids, count)


def unsealed_check(now: datetime) -> list[dict[str, Any]]:
    from market.models import AuditEvent
    from market.selectors.audit import sealed_size

    old = AuditEvent.objects.filter(seq__gte=sealed_size(), created_at__lt=now - _grace())
    ids, count = _ids(old, "event_id")
    message = "an audit event unsealed for longer than two checkpoint intervals"
    return _violations("event_unsealed", message, "audit_event", ids, count)


def unsequenced_check(now: datetime) -> list[dict[str, Any]]:
    from market.models import AuditEvent

    old = AuditEvent.objects.filter(seq__isnull=True, created_at__lt=now - _grace())
    ids, count = _ids(old, "event_id")
    message = "an audit event without its position in the log for longer than two sweep intervals"
    return _violations("event_unsequenced", message, "audit_event", ids, count)


def vault_reconciliation_check(now: datetime) -> list[dict[str, Any]]:
    from market.selectors.funds import difference_text, reconciliation_differences

    rows = reconciliation_differences()
    message = "; ".join(f"{difference_text(r)} (block {r.block_number})" for r in rows)
    return _violations("vault_reconciliation", message, "currency", [r.currency for r in rows], len(rows))


def chain_reorg_check(now: datetime) -> list[dict[str, Any]]:
    from market.models import ChainCursor

    rows = ChainCursor.objects.filter(reorg_detected_at__isnull=False).order_by("pk")
    named = [f"{c.chain_id}:{c.vault}@{c.reorg_block}" for c in rows[:NAMED_MAX]]
    if not named:
        return []
    message = "the chain reorganised below the confirmed depth; deposits are stopped until an operator has checked"
    return _violations("chain_reorg", message, "chain", named, rows.count())


INVARIANT_CHECKS: tuple[Callable[[datetime], list[dict[str, Any]]], ...] = (
    ledger_sum_check,
    settlement_transfers_check,
    account_hours_check,
    open_bid_check,
    stuck_lease_check,
    stuck_receipt_check,
    stuck_award_check,
    unsealed_check,
    unsequenced_check,
    vault_reconciliation_check,
    chain_reorg_check,
)


def invariant_checks(now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or timezone.now()
    found: list[dict[str, Any]] = []
    for check in INVARIANT_CHECKS:
        found.extend(check(now))
    return found
