"""Audit reads: an actor's events, an object's trace, inclusion proofs, sealing and anchoring state.

Visibility: an actor sees the events it is a party to (AuditParty); staff see all. An object's trace
is visible to anyone who is a party to some event of that object; for everyone else it does not
exist (E_NOT_FOUND).

The lists and proofs show positions: they run the sequencer first when a committed event waits for
its position (market.audit.sequencer.ensure_sequenced), so an event written by an earlier request
is listed with its seq, and a proof is answered for it as soon as a checkpoint covers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import django_filters
from django.db.models import Count, Exists, Max, Min, OuterRef, QuerySet
from django.utils import timezone

from market.audit.chunks import LogTree
from market.audit.sequencer import ensure_sequenced, position_of
from market.errors import Conflict, InvalidArgument, NotFound
from market.models import AuditEvent, AuditHead, AuditParty, Checkpoint, CheckpointAnchor

TRACE_LIMIT = 1000


class AuditEventFilter(django_filters.FilterSet):
    objectType = django_filters.CharFilter(field_name="object_type")
    objectId = django_filters.CharFilter(field_name="object_id")
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = AuditEvent
        fields = ["objectType", "objectId", "since"]


def _visible(qs: QuerySet[AuditEvent], actor_id: str, is_staff: bool) -> QuerySet[AuditEvent]:
    if is_staff:
        return qs
    return qs.filter(pk__in=AuditParty.objects.filter(actor_id=actor_id).values("event_id"))


def _with_sealed(qs: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """Each event with `sealed`: True once a signed checkpoint covers it (its proof is available)."""
    return qs.annotate(sealed=Exists(Checkpoint.objects.filter(tree_size__gt=OuterRef("seq"))))


def audit_events(
    *, actor_id: str, is_staff: bool = False, filters: dict[str, Any], queryset: QuerySet[AuditEvent] | None = None
) -> QuerySet[AuditEvent]:
    """The events the caller may see (of `queryset`, default all), filtered, newest first, each with `sealed`."""
    ensure_sequenced()
    fs = AuditEventFilter(
        {k: v for k, v in filters.items() if v not in (None, "")},
        queryset=_visible(AuditEvent.objects.all() if queryset is None else queryset, actor_id, is_staff),
    )
    if not fs.is_valid():
        raise InvalidArgument("invalid filter", details={"fields": {k: str(v[0]) for k, v in fs.errors.items()}})
    return _with_sealed(fs.qs.order_by("-pk"))


def audit_trace(*, object_type: str, object_id: str, actor_id: str, is_staff: bool = False) -> list[AuditEvent]:
    """Every event of one object, oldest first (at most TRACE_LIMIT), each with `sealed`, if the
    caller is a party to any of them."""
    ensure_sequenced()
    qs = AuditEvent.objects.filter(object_type=object_type, object_id=object_id)
    if not _visible(qs, actor_id, is_staff).exists():
        raise NotFound("no such object")
    return list(_with_sealed(qs.order_by("seq"))[:TRACE_LIMIT])


def sealed_size() -> int:
    """Events with seq below this are sealed."""
    return Checkpoint.objects.aggregate(m=Max("tree_size"))["m"] or 0


def event_get(*, event_id: str, actor_id: str, is_staff: bool = False) -> AuditEvent:
    event = _visible(AuditEvent.objects.filter(event_id=event_id), actor_id, is_staff).first()
    if event is None:
        raise NotFound("no such audit event")
    return event


def _shown_anchor(anchor: CheckpointAnchor | None) -> CheckpointAnchor | None:
    """A checkpoint's anchor as outputs show it: only once it has a transaction to look up."""
    return anchor if anchor is not None and anchor.tx_hash else None


@dataclass(frozen=True)
class Proof:
    """The inclusion proof of `event` in `checkpoint`: `path` is the hex sibling hashes, leaf to
    root (RFC 9162); `anchor` is the checkpoint's chain transaction, if it has one."""

    event: AuditEvent
    checkpoint: Checkpoint
    path: list[str]
    anchor: CheckpointAnchor | None


def audit_proof(*, event_id: str, actor_id: str, is_staff: bool = False, tree_size: int | None = None) -> Proof:
    """The inclusion proof of one event in its sealing checkpoint (the first that covers it), or in
    the checkpoint of `tree_size`. E_CONFLICT while the event is not sealed."""
    event = event_get(event_id=event_id, actor_id=actor_id, is_staff=is_staff)
    position_of(event)
    if tree_size is None:
        cp = Checkpoint.objects.filter(tree_size__gt=event.seq).order_by("tree_size").first()
        if cp is None:
            raise Conflict("the event is not sealed in a checkpoint yet", details={"reason": "unsealed"})
    else:
        cp = Checkpoint.objects.filter(tree_size=tree_size).first()
        if cp is None:
            raise NotFound("no checkpoint of that tree size")
        if cp.tree_size <= event.seq:
            raise Conflict("that checkpoint does not cover the event", details={"reason": "not_covered"})
    path = LogTree(cp.tree_size).inclusion_path(event.seq)
    anchor = _shown_anchor(CheckpointAnchor.objects.filter(checkpoint=cp).first())
    return Proof(event=event, checkpoint=cp, path=[h.hex() for h in path], anchor=anchor)


@dataclass(frozen=True)
class Seal:
    """Where one audit event stands: the tree size of the first checkpoint covering it (None while
    it is unsealed) and that checkpoint's chain anchor, once it has a transaction."""

    tree_size: int | None
    anchor: CheckpointAnchor | None = None

    @property
    def sealed(self) -> bool:
        return self.tree_size is not None


def seal_state(seq: int | None) -> Seal:
    """The Seal of the event `seq` (None: no event, so unsealed)."""
    if seq is None:
        return Seal(None)
    size = (
        Checkpoint.objects.filter(tree_size__gt=seq).order_by("tree_size").values_list("tree_size", flat=True).first()
    )
    return seal_states({seq: size})[seq]


def seal_states(covering: dict[int, int | None]) -> dict[int, Seal]:
    """seal_state of many events at once, given each one's covering tree size (None: unsealed), as
    a list's query annotates it: their anchors in one query instead of two queries per event."""
    sizes = {size for size in covering.values() if size is not None}
    anchors = {
        a.checkpoint.tree_size: _shown_anchor(a)
        for a in CheckpointAnchor.objects.filter(checkpoint__tree_size__in=sizes).select_related("checkpoint")
    }
    return {seq: Seal(size, anchors.get(size)) for seq, size in covering.items()}


def audit_health(now: datetime | None = None, *, sequence_first: bool = False) -> dict[str, Any]:
    """Figures for the status part: last checkpoint, unsealed events, events waiting for their
    position (unsequenced), anchoring lag and error. sequence_first: run the sequencer before
    reading (the status part does; the monitors read the sequencer's lag as it is)."""
    if sequence_first:
        ensure_sequenced()
    now = now or timezone.now()
    last = Checkpoint.objects.order_by("-tree_size").first()
    head = AuditHead.objects.filter(pk=1).first()
    total = head.next_seq if head else 0
    sealed = last.tree_size if last else 0
    oldest_unsealed = AuditEvent.objects.filter(seq=sealed).values_list("created_at", flat=True).first()
    unsequenced = AuditEvent.objects.filter(seq__isnull=True).aggregate(n=Count("pk"), oldest=Min("created_at"))
    waiting = CheckpointAnchor.objects.exclude(status=CheckpointAnchor.Status.ANCHORED).select_related("checkpoint")
    oldest_waiting = waiting.order_by("checkpoint__tree_size").first()
    last_error = (
        waiting.exclude(last_error="").order_by("-checkpoint__tree_size").values_list("last_error", flat=True).first()
    )
    return {
        "lastCheckpoint": last,
        "unsealed": total - sealed + unsequenced["n"],  # an event without a position is unsealed too
        "unsealedAgeSec": int((now - oldest_unsealed).total_seconds()) if oldest_unsealed else 0,
        "unsequenced": unsequenced["n"],
        "unsequencedAgeSec": max(0, int((now - unsequenced["oldest"]).total_seconds())) if unsequenced["n"] else 0,
        "anchorsWaiting": waiting.count(),
        "anchorLagSec": int((now - oldest_waiting.checkpoint.created_at).total_seconds()) if oldest_waiting else 0,
        "lastAnchorError": last_error or None,
    }
