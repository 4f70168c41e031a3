"""Every row lock of the market (select_for_update), each helper named for what it locks.

The one lock order, in every transaction that changes state:
  1. domain rows, the aggregate's root first: a task, then its bids, award, result, receipt and
     dispute; a session, then its spend counters (by id), its lines, then its leases; a lease, then
     its invocation; a resource, an alert rule then its alerts, a
     notification, an anchor; rows of one kind by primary key;
  2. the settlement, then the accounts, by primary key;
  3. the audit chain head, last: only the sequencer takes it (market.audit.sequencer), in a
     transaction of its own, or last in one of the few writers that need their event's position at
     once (a ruling); the money path writes its audit leaves without it.
A transaction that follows it never waits on one that holds a later lock while wanting an earlier
one, so the market does not deadlock. Each helper returns the rows re-read under the lock; the
caller checks their state again there. select_for_update is a no-op on SQLite, where IMMEDIATE
transactions serialise writers instead.

The sweeps' batch selections use skip_locked: rows another transaction holds are left for a later
run, so two sweeps at once share the work and never wait on each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import F, QuerySet

from market import sql
from market.errors import NotFound
from market.models import (
    Account,
    Alert,
    AlertNotification,
    AlertRule,
    AuditHead,
    ChainCursor,
    Checkpoint,
    CheckpointAnchor,
    Dispute,
    Invocation,
    Lease,
    Resource,
    Session,
    SessionLine,
    Settlement,
    SpendCounter,
    TaskAward,
    TaskBid,
    TaskOrder,
    TaskReceipt,
    Withdrawal,
)

# --- 1. domain rows ----------------------------------------------------------------------------------


def lock_task(**lookup: Any) -> TaskOrder | None:
    return TaskOrder.objects.select_for_update().filter(**lookup).first()


def lock_bid(**lookup: Any) -> TaskBid | None:
    """One bid (its task locked first by the caller)."""
    return TaskBid.objects.select_for_update().filter(**lookup).first()


def lock_bids_of_task(task: TaskOrder) -> list[TaskBid]:
    """The task's live bids, by id (the task locked first)."""
    return list(TaskBid.objects.select_for_update().filter(task=task, status=TaskBid.Status.SUBMITTED).order_by("pk"))


def lock_bids_of_tasks(tasks: Iterable[TaskOrder]) -> list[TaskBid]:
    """The live bids of several (locked) tasks, by id."""
    return list(
        TaskBid.objects.select_for_update().filter(task__in=list(tasks), status=TaskBid.Status.SUBMITTED).order_by("pk")
    )


def lock_award(task: TaskOrder) -> TaskAward | None:
    """The task's active award, with its bid and settlement (the task locked first)."""
    return (
        TaskAward.objects.select_for_update()
        .select_related("bid", "settlement")
        .filter(task=task, status=TaskAward.Status.ACTIVE)
        .first()
    )


def lock_result_receipt(result_id: str) -> TaskReceipt | None:
    """A result's task, the result and its receipt, locked in this order by one statement, with the
    result's bid and the receipt's settlement (not locked)."""
    return (
        TaskReceipt.objects.select_for_update(of=("result__task", "result", "self"))
        .select_related("result__task", "result__bid", "settlement")
        .filter(result__result_id=result_id)
        .first()
    )


def lock_receipt(**lookup: Any) -> TaskReceipt | None:
    """One receipt with its settlement (its task locked first)."""
    return TaskReceipt.objects.select_for_update().select_related("settlement").filter(**lookup).first()


def lock_latest_receipt(task: TaskOrder) -> TaskReceipt | None:
    """The receipt of the task's latest result (a reopened task may have had earlier ones)."""
    return (
        TaskReceipt.objects.select_for_update()
        .select_related("settlement", "result__award__bid")
        .filter(task=task)
        .order_by("-pk")
        .first()
    )


def lock_dispute(**lookup: Any) -> Dispute | None:
    """One dispute (its task and receipt locked first)."""
    return Dispute.objects.select_for_update().filter(**lookup).first()


def lock_live_dispute(receipt: TaskReceipt) -> Dispute | None:
    """The receipt's dispute awaiting a ruling, if any (at most one: a database constraint)."""
    return Dispute.objects.select_for_update().filter(receipt=receipt, status__in=Dispute.LIVE).first()


def lock_lease(**lookup: Any) -> Lease | None:
    """One lease with its resource and settlement (only the lease row is locked)."""
    return (
        Lease.objects.select_for_update(of=("self",)).select_related("resource", "settlement").filter(**lookup).first()
    )


def lock_session(**lookup: Any) -> Session | None:
    """One session (only the session row is locked)."""
    return Session.objects.select_for_update(of=("self",)).select_related("settlement").filter(**lookup).first()


def lock_session_of_call(invocation_id: str) -> Session | None:
    """The session of an invocation's lease (only the session row is locked), with the lease's
    provider as `call_provider`."""
    return (
        Session.objects.select_for_update(of=("self",))
        .select_related("settlement")
        .filter(leases__invocations__invocation_id=invocation_id)
        .annotate(call_provider=F("leases__provider_actor_id"))
        .first()
    )


def lock_spend_counters_of(**lookup: Any) -> list[SpendCounter]:
    """A delegation's spend counters matching `lookup`, by id (its session locked first)."""
    return list(SpendCounter.objects.select_for_update().filter(**lookup).order_by("pk"))


def lock_session_lines(session: Session) -> list[SessionLine]:
    """The session's lines, by id (the session locked first)."""
    return list(SessionLine.objects.select_for_update().filter(session=session).order_by("pk"))


def lock_session_leases(session: Session) -> list[Lease]:
    """The session's active leases, by id (the session locked first)."""
    return list(
        Lease.objects.select_for_update(of=("self",)).filter(session=session, status=Lease.Status.ACTIVE).order_by("pk")
    )


def lock_session_if_free(pk: int) -> Session | None:
    """One session for a sweep, unless another transaction holds it (then None: a later run)."""
    return (
        Session.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("settlement")
        .filter(pk=pk)
        .first()
    )


def lock_invocation_lease(invocation_id: str) -> Invocation | None:
    """An invocation's lease, then the invocation, locked in this order by one statement, with the
    lease's resource and settlement (not locked)."""
    return (
        Invocation.objects.select_for_update(of=("lease", "self"))
        .select_related("lease__resource", "lease__settlement")
        .filter(invocation_id=invocation_id)
        .first()
    )


def lock_invocation(**lookup: Any) -> Invocation | None:
    """One invocation (its lease locked first)."""
    return Invocation.objects.select_for_update().filter(**lookup).first()


def lock_resource(**lookup: Any) -> Resource | None:
    return Resource.objects.select_for_update().filter(**lookup).first()


def lock_alert_rule(**lookup: Any) -> AlertRule | None:
    return AlertRule.objects.select_for_update().filter(**lookup).first()


def lock_alert(**lookup: Any) -> Alert | None:
    """One alert with its rule (only the alert row is locked)."""
    return Alert.objects.select_for_update(of=("self",)).select_related("rule").filter(**lookup).first()


def lock_alerts_of_rule(rule: AlertRule) -> list[Alert]:
    """The rule's unresolved alerts (one per series), by id; the rule locked first."""
    return list(Alert.objects.select_for_update().filter(rule=rule, status__in=Alert.UNRESOLVED).order_by("pk"))


def lock_notification(**lookup: Any) -> AlertNotification | None:
    return AlertNotification.objects.select_for_update().filter(**lookup).first()


def lock_anchor(**lookup: Any) -> CheckpointAnchor | None:
    return CheckpointAnchor.objects.select_for_update().filter(**lookup).first()


def lock_chain_cursor(**lookup: Any) -> ChainCursor | None:
    """The deposit job's cursor of one vault: two runs at once queue here, so a range is credited once."""
    return ChainCursor.objects.select_for_update().filter(**lookup).first()


def lock_withdrawal(**lookup: Any) -> Withdrawal | None:
    """One withdrawal (its hold's accounts are locked after it, by id)."""
    return Withdrawal.objects.select_for_update().select_related("hold").filter(**lookup).first()


def lock_sealing() -> None:
    """The sealers' queue: the first checkpoint's row (append-only, so it never moves), or before any
    checkpoint exists the audit head, once; a second sealer waits here for the first to commit."""
    first = Checkpoint.objects.select_for_update().order_by("tree_size")
    if not list(first[:1]):
        AuditHead.objects.select_for_update().filter(pk=1).first()
        list(first[:1])  # written meanwhile?


# --- the sweeps' batches (skip_locked) ---------------------------------------------------------------


def lock_expired_leases(now: datetime, limit: int) -> list[tuple]:
    """Active leases past expiresAt that no one else holds: (pk, lease_id, settlement_id, consumer,
    provider, spent, currency). No ORDER BY: skip_locked never waits on a lease row, so they need no
    lock order, and an unordered LIMIT stops after one batch instead of sorting every due lease
    (bench/sweep.py)."""
    return list(
        Lease.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=Lease.Status.ACTIVE, expires_at__lte=now)
        .order_by()
        .values_list(
            "pk", "lease_id", "settlement__settlement_id", "consumer_actor_id", "provider_actor_id", "spent", "currency"
        )[:limit]
    )


def lock_stale_invocations(started_before: datetime, limit: int) -> list[int]:
    """The pks of pending invocations started before the cutoff that no one else holds."""
    return list(
        Invocation.objects.select_for_update(skip_locked=True)
        .filter(status=Invocation.Status.PENDING, started_at__lte=started_before)
        .values_list("pk", flat=True)[:limit]
    )


def lock_expired_tasks(now: datetime, limit: int) -> list[TaskOrder]:
    """Open tasks past expiresAt that no one else holds, by id."""
    return list(
        TaskOrder.objects.select_for_update(skip_locked=True)
        .filter(status=TaskOrder.Status.OPEN, expires_at__lte=now)
        .order_by("pk")[:limit]
    )


def lock_free_tasks(task_pks: set[int]) -> set[int]:
    """Lock these tasks, by id; those another transaction holds are left out (for a later run)."""
    return set(
        TaskOrder.objects.select_for_update(skip_locked=True)
        .filter(pk__in=task_pks)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def lock_awards(awards: QuerySet[TaskAward]) -> list[TaskAward]:
    """These awards with their task, bid and settlement, by id (their tasks locked first)."""
    return list(awards.select_for_update(of=("self",)).select_related("task", "bid", "settlement").order_by("pk"))


def lock_receipts(receipts: QuerySet[TaskReceipt]) -> list[TaskReceipt]:
    """These receipts with their task, result and settlement, by id (their tasks locked first)."""
    return list(receipts.select_for_update().select_related("task", "result", "settlement").order_by("pk"))


def lock_disputes(disputes: QuerySet[Dispute]) -> list[Dispute]:
    """These disputes, by id (their tasks and receipts locked first)."""
    return list(disputes.select_for_update().order_by("pk"))


# --- 2. settlements and accounts ---------------------------------------------------------------------
# Plain SQL (market.sql): these run on every money move.


# The settlement's two accounts, the lower id first: joined to it, they are locked after it and in
# primary-key order by the same statement.
_SETTLEMENT_ACCOUNTS = (
    "JOIN market_account a1 ON a1.id = CASE WHEN t.payer_account_id < t.payee_account_id "
    "THEN t.payer_account_id ELSE t.payee_account_id END "
    "JOIN market_account a2 ON a2.id = CASE WHEN t.payer_account_id < t.payee_account_id "
    "THEN t.payee_account_id ELSE t.payer_account_id END"
)


def lock_settlement_accounts(settlement_id: str) -> Settlement:
    """The settlement, then its two accounts by id, locked in one statement (only the settlement's
    row is built: a release or a refund moves the accounts' totals without reading them)."""
    found = sql.select_for_update(
        Settlement, "t.settlement_id = %s", [settlement_id], joins=_SETTLEMENT_ACCOUNTS, of=("a1", "a2")
    )
    if not found:
        raise NotFound("no such settlement")
    return found[0]


def lock_open_settlements(settlement_ids: list[str]) -> list[Settlement]:
    """Those of these settlements still open, by id (closed ones are skipped)."""
    return list(
        Settlement.objects.select_for_update()
        .filter(settlement_id__in=settlement_ids, status__in=Settlement.OPEN)
        .order_by("pk")
    )


def lock_accounts(ids: Iterable[int]) -> dict[int, Account]:
    """Lock accounts ordered by primary key (deadlock-free across transactions)."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    rows = sql.select_for_update(Account, f"id IN ({', '.join(['%s'] * len(ids))})", ids)
    return {a.pk: a for a in rows}


def lock_account_rows(ids: Iterable[int]) -> None:
    """Lock accounts ordered by primary key, when only the lock is needed (no rows are built)."""
    ids = sorted(set(ids))
    statement = f"SELECT id FROM market_account WHERE id IN ({', '.join(['%s'] * len(ids))}) ORDER BY id"  # noqa: S608
    sql.execute(sql.lock_clause(statement), ids)


def lock_accounts_of(currency: str, owners: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Account]:
    """Find and lock the accounts of these (actor_id, kind) owners in one currency, ordered by
    primary key, in one query. Owners without an account are missing from the answer."""
    owners = sorted(set(owners))
    match = " OR ".join(["(actor_id = %s AND kind = %s)"] * len(owners))
    rows = sql.select_for_update(
        Account, f"currency = %s AND ({match})", [currency, *(v for owner in owners for v in owner)]
    )
    return {(a.actor_id, a.kind): a for a in rows}


# --- 3. the audit chain head, last -------------------------------------------------------------------


def lock_audit_head(*, skip_locked: bool = False) -> tuple[int, str] | None:
    """The head's (next seq, last hash), locked; the row is made on first use. With skip_locked, None
    when another transaction holds it (another sequencer is at work)."""
    conn_has_skip = sql.lock_clause("") != ""
    statement = sql.lock_clause("SELECT next_seq, last_hash FROM market_audithead WHERE id = 1")
    if skip_locked and conn_has_skip:
        statement += " SKIP LOCKED"
    head = sql.execute(statement)
    if not head:
        if AuditHead.objects.filter(pk=1).exists():
            return None  # held by another sequencer (skip_locked)
        AuditHead.objects.get_or_create(pk=1)
        head = sql.execute(statement)
        if not head:
            return None
    return head[0]
