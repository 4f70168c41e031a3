"""Dispute reads. Parties (the task's creator and the deliverer) see their disputes; arbitrators
and staff see every dispute; for anyone else a dispute does not exist."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery

from market.errors import InvalidArgument, NotFound
from market.models import Checkpoint, Dispute, DisputeEvidence
from market.selectors.audit import Seal, seal_state, seal_states


def dispute_get(*, dispute_id: str, actor_id: str, is_staff: bool = False, is_arbitrator: bool = False) -> Dispute:
    """The dispute as dispute_shown gives it."""
    dispute = Dispute.objects.select_related("task", "receipt").filter(dispute_id=dispute_id).first()
    if dispute is None or not (is_staff or is_arbitrator or actor_id in dispute.parties):
        raise NotFound("no such dispute")
    return dispute_shown(dispute)


def dispute_shown(dispute: Dispute) -> Dispute:
    """The dispute (with its task and receipt) and what its output shows beside its own row: its
    evidence in order (`evidence_in_order`) and where its ruling's audit event stands (`seal`, a
    market.selectors.audit.Seal)."""
    dispute.evidence_in_order = list(DisputeEvidence.objects.filter(dispute=dispute).order_by("pk"))
    dispute.seal = seal_state(dispute.ruling_event_seq)
    return dispute


class DisputeFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Dispute.Status.choices)

    class Meta:
        model = Dispute
        fields = ["status"]


def dispute_list(
    *, actor_id: str, filters: dict[str, Any], is_staff: bool = False, is_arbitrator: bool = False
) -> QuerySet[Dispute]:
    """Each dispute comes with its task, receipt and evidence and the tree size of the checkpoint
    covering its ruling's event (`seal_tree_size`, None when unsealed); disputes_sealed completes
    a page of them, so a page costs the same queries for any length."""
    covering = (
        Checkpoint.objects.filter(tree_size__gt=OuterRef("ruling_event_seq"))
        .order_by("tree_size")
        .values("tree_size")[:1]
    )
    qs = (
        Dispute.objects.select_related("task", "receipt")
        .prefetch_related(
            Prefetch("evidence", queryset=DisputeEvidence.objects.order_by("pk"), to_attr="evidence_in_order")
        )
        .annotate(seal_tree_size=Subquery(covering))
    )
    if not (is_staff or is_arbitrator):
        qs = qs.filter(Q(creator_actor_id=actor_id) | Q(deliverer_actor_id=actor_id))
    fs = DisputeFilter({k: v for k, v in filters.items() if v not in (None, "")}, queryset=qs)
    if not fs.is_valid():
        raise InvalidArgument("invalid filter", details={"fields": {k: str(v[0]) for k, v in fs.errors.items()}})
    return fs.qs


def disputes_sealed(disputes: list[Dispute]) -> list[Dispute]:
    """A page of dispute_list as dispute_shown gives each: `seal` from the `seal_tree_size`
    annotation, the anchors of all of them in one query."""
    seals = seal_states({d.ruling_event_seq: d.seal_tree_size for d in disputes if d.ruling_event_seq is not None})
    for d in disputes:
        d.seal = seals.get(d.ruling_event_seq, Seal(None))
    return disputes


def disputes_lost(actor_id: str) -> int:
    """Final outcomes against the actor, counted once paid out: the deliverer loses a decline or a
    ruling that gives it less than half; the creator loses a ruling that gives the deliverer more
    than half."""
    paid = Dispute.objects.filter(paid_out_at__isnull=False)
    as_deliverer = paid.filter(deliverer_actor_id=actor_id).filter(
        Q(decision=Dispute.Decision.DECLINE) | Q(decision=Dispute.Decision.RULE, payee_share_bps__lt=5000)
    )
    as_creator = paid.filter(creator_actor_id=actor_id, decision=Dispute.Decision.RULE, payee_share_bps__gt=5000)
    return as_deliverer.count() + as_creator.count()
