"""State machines as data: one transition table per object, one helper that applies it.

A table maps (from_state, verb) -> to_state, with an optional guard (a callable taking the row
and returning an error message or None). No status string is assigned anywhere else:
`transition(row, verb)` for one locked row, `bulk_transition(queryset, verb)` for sweeps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from market.errors import Conflict


@dataclass(frozen=True)
class Transition:
    source: str
    verb: str
    target: str
    guard: Callable[[Any], str | None] | None = None


@dataclass
class StateTable:
    name: str
    transitions: list[Transition]
    status_field: str = "status"
    _index: dict[tuple[str, str], Transition] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {}
        for t in self.transitions:
            key = (t.source, t.verb)
            if key in self._index:
                raise ValueError(f"{self.name}: duplicate transition {key}")
            self._index[key] = t

    def find(self, source: str, verb: str) -> Transition | None:
        return self._index.get((source, verb))


TABLES: dict[type[models.Model], StateTable] = {}


def register(model: type[models.Model], table: StateTable) -> StateTable:
    TABLES[model] = table
    return table


def table_for(model: type[models.Model]) -> StateTable:
    return TABLES[model]


def transition(row: models.Model, verb: str, *, save: bool = True, update_fields: list[str] | None = None) -> str:
    """Move one (locked) row along its table; raise Conflict when the verb is not allowed."""
    table = table_for(type(row))
    current = getattr(row, table.status_field)
    t = table.find(current, verb)
    if t is None:
        raise Conflict(
            f"{table.name} is {current}; '{verb}' is not allowed",
            details={"status": current, "verb": verb},
        )
    if t.guard is not None:
        problem = t.guard(row)
        if problem:
            raise Conflict(problem, details={"status": current, "verb": verb})
    setattr(row, table.status_field, t.target)
    if save:
        fields = [table.status_field, *(update_fields or [])]
        if any(f.name == "updated_at" for f in row._meta.fields):
            fields.append("updated_at")
        row.save(update_fields=fields)
    return t.target


def bulk_transition(queryset: models.QuerySet, verb: str, **extra_updates: Any) -> int:
    """Apply `verb` to every row of `queryset` that is in a state allowing it, set-based.

    Guards are not evaluated here: a bulk verb's precondition must be expressed in the queryset
    (sweeps select by state and deadline). Returns the number of rows moved.
    """
    table = table_for(queryset.model)
    moves = [t for t in table.transitions if t.verb == verb]
    if not moves:
        raise ValueError(f"{table.name}: no transition for verb {verb!r}")
    status = table.status_field
    target = models.Case(
        *[models.When(**{status: t.source}, then=models.Value(t.target)) for t in moves],
        output_field=models.CharField(),
    )
    return queryset.filter(**{f"{status}__in": [t.source for t in moves]}).update(**{status: target}, **extra_updates)


# --- the tables -----------------------------------------------------------------------------------
def _settlement_table() -> StateTable:
    from market.models import Settlement

    S = Settlement.Status
    return register(
        Settlement,
        StateTable(
            "settlement",
            [
                Transition(S.LOCKED, "release_part", S.PARTIALLY_RELEASED),
                Transition(S.LOCKED, "release_all", S.RELEASED),
                Transition(S.PARTIALLY_RELEASED, "release_part", S.PARTIALLY_RELEASED),
                Transition(S.PARTIALLY_RELEASED, "release_all", S.RELEASED),
                Transition(S.LOCKED, "refund", S.REFUNDED),
                Transition(S.PARTIALLY_RELEASED, "refund", S.REFUNDED),
            ],
        ),
    )


SETTLEMENT = _settlement_table()


def _resource_lease_tables() -> tuple[StateTable, StateTable, StateTable]:
    from market.models import Invocation, Lease, Resource

    R, L, Inv = Resource.Status, Lease.Status, Invocation.Status
    resource = register(
        Resource,
        StateTable(
            "resource",
            [
                Transition(R.PUBLISHED, "unpublish", R.UNPUBLISHED),
                Transition(R.UNPUBLISHED, "publish", R.PUBLISHED),
            ],
        ),
    )
    lease = register(
        Lease,
        StateTable(
            "lease",
            [
                Transition(L.ACTIVE, "revoke", L.REVOKED),
                Transition(L.ACTIVE, "expire", L.EXPIRED),
                # Its session was settled: the lease ends with it (nothing of its own to refund).
                Transition(L.ACTIVE, "end_with_session", L.EXPIRED),
                Transition(
                    L.ACTIVE,
                    "exhaust",
                    L.EXHAUSTED,
                    guard=lambda row: None if row.spent == row.max_cost else "the lease's budget is not spent",
                ),
            ],
        ),
    )
    invocation = register(
        Invocation,
        StateTable(
            "invocation",
            [
                Transition(Inv.PENDING, "succeed", Inv.SUCCEEDED),
                Transition(Inv.PENDING, "fail", Inv.FAILED),
            ],
        ),
    )
    return resource, lease, invocation


RESOURCE, LEASE, INVOCATION = _resource_lease_tables()


def _task_tables() -> tuple[StateTable, ...]:
    from market.models import Dispute, TaskAward, TaskBid, TaskOrder, TaskReceipt, TaskResult

    T, B, A = TaskOrder.Status, TaskBid.Status, TaskAward.Status
    Res, Rc, D = TaskResult.Status, TaskReceipt.Status, Dispute.Status
    task = register(
        TaskOrder,
        StateTable(
            "task",
            [
                Transition(T.OPEN, "award", T.AWARDED),
                Transition(T.OPEN, "cancel", T.CANCELLED),
                Transition(T.OPEN, "expire", T.EXPIRED),
                Transition(T.AWARDED, "cancel_undelivered", T.CANCELLED),
                # The undelivered-award sweep: open again while expiresAt is ahead, else expired.
                Transition(T.AWARDED, "reopen", T.OPEN),
                Transition(T.AWARDED, "expire_undelivered", T.EXPIRED),
                Transition(T.AWARDED, "close", T.CLOSED),
            ],
        ),
    )
    bid = register(
        TaskBid,
        StateTable(
            "bid",
            [
                Transition(B.SUBMITTED, "withdraw", B.WITHDRAWN),
                Transition(B.SUBMITTED, "accept", B.ACCEPTED),
                Transition(B.SUBMITTED, "reject", B.REJECTED),
            ],
        ),
    )
    award = register(
        TaskAward,
        StateTable(
            "award",
            [
                Transition(A.ACTIVE, "revoke", A.REVOKED),
            ],
        ),
    )
    result = register(
        TaskResult,
        StateTable(
            "result",
            [
                Transition(Res.SUBMITTED, "accept", Res.ACCEPTED),
                Transition(Res.SUBMITTED, "reject", Res.REJECTED),
            ],
        ),
    )
    receipt = register(
        TaskReceipt,
        StateTable(
            "receipt",
            [
                Transition(Rc.PENDING, "settle", Rc.SETTLED),
                Transition(Rc.PENDING, "refund", Rc.REFUNDED),
                Transition(Rc.PENDING, "dispute", Rc.DISPUTED),
                Transition(Rc.DISPUTED, "settle", Rc.SETTLED),
                Transition(Rc.DISPUTED, "refund", Rc.REFUNDED),
            ],
        ),
    )
    dispute = register(
        Dispute,
        StateTable(
            "dispute",
            [
                Transition(D.OPEN, "rule", D.RESOLVED),
                Transition(D.OPEN, "decline", D.REJECTED),
                Transition(
                    D.RESOLVED,
                    "appeal",
                    D.APPEALED,
                    guard=lambda row: None if row.round == 1 else "the second ruling is final",
                ),
                Transition(
                    D.REJECTED,
                    "appeal",
                    D.APPEALED,
                    guard=lambda row: None if row.round == 1 else "the second ruling is final",
                ),
                Transition(D.APPEALED, "rule", D.RESOLVED),
                Transition(D.APPEALED, "decline", D.REJECTED),
            ],
        ),
    )
    return task, bid, award, result, receipt, dispute


TASK, BID, AWARD, RESULT, RECEIPT, DISPUTE = _task_tables()


def _monitor_tables() -> tuple[StateTable, StateTable]:
    from market.models.monitor import Alert, AlertNotification

    A, N = Alert.Status, AlertNotification.Status
    alert = register(
        Alert,
        StateTable(
            "alert",
            [
                Transition(A.ACTIVE, "acknowledge", A.ACKNOWLEDGED),
                Transition(A.ACTIVE, "resolve", A.RESOLVED),
                Transition(A.ACKNOWLEDGED, "resolve", A.RESOLVED),
            ],
        ),
    )
    notification = register(
        AlertNotification,
        StateTable(
            "notification",
            [
                Transition(N.PENDING, "deliver", N.DELIVERED),
                Transition(N.PENDING, "give_up", N.FAILED),
            ],
        ),
    )
    return alert, notification


ALERT, NOTIFICATION = _monitor_tables()


def _anchor_table() -> StateTable:
    from market.models import CheckpointAnchor

    S = CheckpointAnchor.Status
    return register(
        CheckpointAnchor,
        StateTable(
            "anchor",
            [
                Transition(S.PENDING, "sign", S.SIGNED),  # the raw transaction stored with its nonce
                Transition(S.SIGNED, "broadcast", S.SENT),
                Transition(S.SENT, "confirm", S.ANCHORED),
                Transition(S.SENT, "revert", S.FAILED),
                # Its nonce was spent by another transaction: it can never land, so it is signed again.
                Transition(S.SIGNED, "resign", S.PENDING),
                Transition(S.SENT, "resign", S.PENDING),
            ],
        ),
    )


ANCHOR = _anchor_table()


def _session_table() -> StateTable:
    from market.models import Session

    S = Session.Status
    return register(
        Session,
        StateTable(
            "session",
            [
                Transition(S.PENDING_APPROVAL, "approve", S.OPEN),
                Transition(S.PENDING_APPROVAL, "decline", S.DECLINED),
                Transition(S.PENDING_APPROVAL, "lapse", S.EXPIRED),
                Transition(S.OPEN, "settle", S.SETTLED),
            ],
        ),
    )


SESSION = _session_table()


def _funds_tables() -> tuple[StateTable, StateTable]:
    from market.models import Deposit, Withdrawal

    D, W = Deposit.Status, Withdrawal.Status
    deposit = register(
        Deposit,
        StateTable("deposit", [Transition(D.CREDITED, "orphan", D.ORPHANED)]),
    )
    withdrawal = register(
        Withdrawal,
        StateTable(
            "withdrawal",
            [
                Transition(W.PENDING, "sign", W.SIGNED),  # the raw transaction stored with its nonce
                Transition(W.SIGNED, "broadcast", W.SENT),
                Transition(W.SENT, "complete", W.COMPLETED),  # mined with status 1, confirmed
                Transition(W.SENT, "refuse", W.REFUNDED),  # mined but reverted: the hold voided
                Transition(W.PENDING, "refuse", W.REFUNDED),  # never signable (attempts spent): voided
                # Its nonce was spent by another transaction: it can never land, so it is signed again.
                Transition(W.SIGNED, "resign", W.PENDING),
                Transition(W.SENT, "resign", W.PENDING),
            ],
        ),
    )
    return deposit, withdrawal


DEPOSIT, WITHDRAWAL = _funds_tables()
