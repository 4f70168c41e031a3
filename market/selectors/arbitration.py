"""The arbitrator's workspace for one dispute: the evidence timeline (what the parties submitted,
what the market attached on opening, and the dispute's and its task's audit events, in time order),
the parties' history with each other, the seal of every ruling so far, and what a ruling of a
given payee share would move. Read in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q

from market.models import AuditEvent, Checkpoint, Dispute, TaskOrder
from market.selectors.audit import Seal, seal_states
from market.selectors.disputes import dispute_get
from market.selectors.operator_lists import ruling_split

SYSTEM = "system"
HISTORY_MAX = 20


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str  # evidence | event
    actor_id: str
    title: str
    detail: str
    automatic: bool  # attached or recorded by the market itself
    sha256: str = ""
    seq: int | None = None


@dataclass(frozen=True)
class PastRuling:
    round: int
    decision: str
    payee_share_bps: int | None
    rationale: str
    arbitrator_actor_id: str
    ruled_at: str
    seal: Seal


@dataclass(frozen=True)
class Workspace:
    dispute: Dispute
    amount: int
    currency: str
    timeline: list[TimelineItem]
    shared_tasks: list[TaskOrder]
    shared_disputes: list[Dispute]
    rulings: list[PastRuling]
    live: bool  # awaiting a ruling
    may_rule: bool  # the viewer may rule now (an arbitrator, no party, not the first arbitrator of an appeal)
    why_not: str


def _timeline(dispute: Dispute) -> list[TimelineItem]:
    items = [
        TimelineItem(
            at=e.created_at,
            kind="evidence",
            actor_id=e.submitter_actor_id,
            title=f"Evidence: {e.kind}",
            detail=e.content or e.uri,
            automatic=e.submitter_actor_id == SYSTEM,
            sha256=e.sha256,
        )
        for e in dispute.evidence_in_order
    ]
    events = AuditEvent.objects.filter(
        Q(object_type="dispute", object_id=dispute.dispute_id) | Q(object_type="task", object_id=dispute.task.task_id)
    ).order_by("pk")[:200]
    items += [
        TimelineItem(
            at=e.created_at,
            kind="event",
            actor_id=e.actor_id,
            title=e.action,
            detail="",
            automatic=e.actor_id == SYSTEM,
            seq=e.seq,
        )
        for e in events
    ]
    return sorted(items, key=lambda i: (i.at, i.kind != "event"))


def _rulings(dispute: Dispute) -> list[PastRuling]:
    """Every ruling, oldest first: the earlier ones from the dispute's history, then its current one."""
    raw: list[dict[str, Any]] = [dict(h, round=1) for h in dispute.history]
    if dispute.ruled_at is not None:
        raw.append({"round": dispute.round, **dispute.ruling_entry()})
    seqs = [r.get("rulingEventSeq") for r in raw if r.get("rulingEventSeq") is not None]
    covering = {}
    for seq in seqs:  # at most two rulings per dispute
        covering[seq] = (
            Checkpoint.objects.filter(tree_size__gt=seq)
            .order_by("tree_size")
            .values_list("tree_size", flat=True)
            .first()
        )
    seals = seal_states(covering)
    return [
        PastRuling(
            round=r["round"],
            decision=r["decision"],
            payee_share_bps=r.get("payeeShareBps"),
            rationale=r.get("rationale", ""),
            arbitrator_actor_id=r.get("arbitratorActorId", ""),
            ruled_at=r.get("ruledAt", ""),
            seal=seals.get(r.get("rulingEventSeq"), Seal(None)),
        )
        for r in raw
    ]


def _may_rule(dispute: Dispute, actor_id: str, is_arbitrator: bool) -> tuple[bool, str]:
    if dispute.status not in Dispute.LIVE:
        return False, "the dispute is not awaiting a ruling"
    if not is_arbitrator:
        return False, "only an arbitrator rules"
    if actor_id in dispute.parties:
        return False, "a party cannot rule on its own dispute"
    if dispute.status == Dispute.Status.APPEALED and actor_id == dispute.first_arbitrator_actor_id:
        return False, "the appeal must be ruled by another arbitrator"
    return True, ""


def dispute_workspace(*, dispute_id: str, actor_id: str, is_staff: bool, is_arbitrator: bool) -> Workspace:
    """E_NOT_FOUND for a dispute the viewer may not see (arbitrators and staff see all)."""
    dispute = dispute_get(dispute_id=dispute_id, actor_id=actor_id, is_staff=is_staff, is_arbitrator=is_arbitrator)
    creator, deliverer = dispute.creator_actor_id, dispute.deliverer_actor_id
    shared_tasks = list(
        TaskOrder.objects.filter(
            Q(creator_actor_id=creator, bids__bidder_actor_id=deliverer)
            | Q(creator_actor_id=deliverer, bids__bidder_actor_id=creator)
        )
        .exclude(pk=dispute.task_id)
        .distinct()
        .order_by("-pk")[:HISTORY_MAX]
    )
    shared_disputes = list(
        Dispute.objects.filter(
            Q(creator_actor_id=creator, deliverer_actor_id=deliverer)
            | Q(creator_actor_id=deliverer, deliverer_actor_id=creator)
        )
        .exclude(pk=dispute.pk)
        .select_related("task")
        .order_by("-pk")[:HISTORY_MAX]
    )
    may, why = _may_rule(dispute, actor_id, is_arbitrator)
    return Workspace(
        dispute=dispute,
        amount=dispute.receipt.settlement.remaining if dispute.receipt.settlement.is_open else dispute.receipt.amount,
        currency=dispute.receipt.currency,
        timeline=_timeline(dispute),
        shared_tasks=shared_tasks,
        shared_disputes=shared_disputes,
        rulings=_rulings(dispute),
        live=dispute.status in Dispute.LIVE,
        may_rule=may,
        why_not=why,
    )


@dataclass(frozen=True)
class Split:
    payee_share_bps: int
    to_payee: int
    to_payer: int
    currency: str


def ruling_preview(workspace: Workspace, payee_share_bps: int) -> Split:
    """What ruling `payee_share_bps` would move now: to the deliverer, and back to the creator."""
    bps = max(0, min(10000, payee_share_bps))
    settlement = workspace.dispute.receipt.settlement
    if settlement.is_open:
        payee, payer = ruling_split(settlement, bps)
    else:
        payee = workspace.amount * bps // 10000
        payer = workspace.amount - payee
    return Split(bps, payee, payer, workspace.currency)
