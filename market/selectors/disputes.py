"""Dispute reads. Parties (the task's creator and the deliverer) see their disputes; arbitrators
and staff see every dispute; for anyone else a dispute does not exist."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery

from market.errors import InvalidArgument, NotFound
from market.models import Checkpoint, Dispute, DisputeEvidence


def dispute_get(*, dispute_id: str, actor_id: str, is_staff: bool = False, is_arbitrator: bool = False) -> Dispute:
    dispute = (
        Dispute.objects.select_related("task", "receipt", "receipt__settlement").filter(dispute_id=dispute_id).first()
    )
    if dispute is None or not (is_staff or is_arbitrator or actor_id in dispute.parties):
        raise NotFound("no such dispute")
    return dispute


class DisputeFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Dispute.Status.choices)

    class Meta:
        model = Dispute
        fields = ["status"]


def dispute_list(
    *, actor_id: str, filters: dict[str, Any], is_staff: bool = False, is_arbitrator: bool = False
) -> QuerySet[Dispute]:
    """Each dispute comes with its evidence and the tree size of the checkpoint covering its ruling's
    event (`seal_tree_size`, None when unsealed), so a page costs the same queries for any length."""
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


def dispute_evidence(dispute: Dispute) -> list[DisputeEvidence]:
    prefetched = getattr(dispute, "evidence_in_order", None)
    if prefetched is not None:
        return prefetched
    return list(DisputeEvidence.objects.filter(dispute=dispute).order_by("pk"))


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
