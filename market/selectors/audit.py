"""Audit reads: an actor's events, an object's trace, inclusion proofs, sealing and anchoring state.

Visibility: an actor sees the events it is a party to (AuditParty); staff see all. An object's trace
is visible to anyone who is a party to some event of that object; for everyone else it does not
exist (E_NOT_FOUND).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import django_filters
from django.db.models import Max, QuerySet
from django.utils import timezone

from market.audit.chunks import LogTree
from market.audit.hashchain import event_time_text
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


def audit_events(*, actor_id: str, is_staff: bool = False, filters: dict[str, Any]) -> QuerySet[AuditEvent]:
    """The events the caller may see, filtered, newest first."""
    fs = AuditEventFilter(
        {k: v for k, v in filters.items() if v not in (None, "")},
        queryset=_visible(AuditEvent.objects.all(), actor_id, is_staff),
    )
    if not fs.is_valid():
        raise InvalidArgument("invalid filter", details={"fields": {k: str(v[0]) for k, v in fs.errors.items()}})
    return fs.qs.order_by("-pk")


def audit_trace(*, object_type: str, object_id: str, actor_id: str, is_staff: bool = False) -> list[AuditEvent]:
    """Every event of one object, oldest first, if the caller is a party to any of them."""
    qs = AuditEvent.objects.filter(object_type=object_type, object_id=object_id)
    if not _visible(qs, actor_id, is_staff).exists():
        raise NotFound("no such object")
    return list(qs.order_by("seq")[:TRACE_LIMIT])


def sealed_size() -> int:
    """Events with seq below this are sealed."""
    return Checkpoint.objects.aggregate(m=Max("tree_size"))["m"] or 0


def event_get(*, event_id: str, actor_id: str, is_staff: bool = False) -> AuditEvent:
    event = _visible(AuditEvent.objects.filter(event_id=event_id), actor_id, is_staff).first()
    if event is None:
        raise NotFound("no such audit event")
    return event


def event_record(event: AuditEvent) -> dict[str, Any]:
    """The event as hashed: every field a verifier needs, times in their exact hashed text."""
    return {
        "seq": event.seq,
        "eventId": event.event_id,
        "actorId": event.actor_id,
        "action": event.action,
        "objectType": event.object_type,
        "objectId": event.object_id,
        "payload": event.payload,
        "payloadSha256": event.payload_sha256,
        "prevHash": event.prev_hash,
        "createdAt": event_time_text(event.created_at),
        "hash": event.hash,
    }


def checkpoint_record(cp: Checkpoint) -> dict[str, Any]:
    return {
        "treeSize": cp.tree_size,
        "root": cp.root,
        "createdAt": cp.created_text,
        "signature": cp.signature,
        "signer": cp.signer,
        "statement": cp.statement,
    }


def anchor_record(cp: Checkpoint) -> dict[str, Any] | None:
    return _anchor_out(CheckpointAnchor.objects.filter(checkpoint=cp).first())


def _anchor_out(anchor: CheckpointAnchor | None) -> dict[str, Any] | None:
    if anchor is None or not anchor.tx_hash:
        return None
    return {
        "txHash": anchor.tx_hash,
        "chainId": anchor.chain_id,
        "status": anchor.status.removeprefix("anchor_"),
        "blockNumber": anchor.block_number,
    }


def audit_proof(
    *, event_id: str, actor_id: str, is_staff: bool = False, tree_size: int | None = None
) -> dict[str, Any]:
    """The inclusion proof of one event in its sealing checkpoint (the first that covers it), or in
    the checkpoint of `tree_size`. E_CONFLICT while the event is not sealed."""
    event = event_get(event_id=event_id, actor_id=actor_id, is_staff=is_staff)
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
    return {
        "event": event_record(event),
        "leafIndex": event.seq,
        "treeSize": cp.tree_size,
        "proof": [h.hex() for h in path],
        "root": cp.root,
        "checkpoint": checkpoint_record(cp),
        "anchor": anchor_record(cp),
    }


def seal_state(seq: int | None) -> dict[str, Any]:
    """Where the event `seq` stands: its covering checkpoint and that checkpoint's anchor."""
    if seq is None:
        return {"sealed": False, "treeSize": None, "anchor": None}
    size = (
        Checkpoint.objects.filter(tree_size__gt=seq).order_by("tree_size").values_list("tree_size", flat=True).first()
    )
    return seal_states({seq: size})[seq]


def seal_states(covering: dict[int, int | None]) -> dict[int, dict[str, Any]]:
    """seal_state of many events at once, given each one's covering tree size (None: unsealed), as
    a list's query annotates it: their anchors in one query instead of two queries per event."""
    sizes = {size for size in covering.values() if size is not None}
    anchors = {
        a.checkpoint.tree_size: _anchor_out(a)
        for a in CheckpointAnchor.objects.filter(checkpoint__tree_size__in=sizes).select_related("checkpoint")
    }
    return {
        seq: {"sealed": True, "treeSize": size, "anchor": anchors.get(size)}
        if size is not None
        else {"sealed": False, "treeSize": None, "anchor": None}
        for seq, size in covering.items()
    }


def audit_health(now: datetime | None = None) -> dict[str, Any]:
    """Figures for the status part: last checkpoint, unsealed events, anchoring lag and error."""
    now = now or timezone.now()
    last = Checkpoint.objects.order_by("-tree_size").first()
    head = AuditHead.objects.filter(pk=1).first()
    total = head.next_seq if head else 0
    sealed = last.tree_size if last else 0
    oldest_unsealed = AuditEvent.objects.filter(seq=sealed).values_list("created_at", flat=True).first()
    waiting = CheckpointAnchor.objects.exclude(status=CheckpointAnchor.Status.ANCHORED).select_related("checkpoint")
    oldest_waiting = waiting.order_by("checkpoint__tree_size").first()
    last_error = (
        waiting.exclude(last_error="").order_by("-checkpoint__tree_size").values_list("last_error", flat=True).first()
    )
    return {
        "lastCheckpoint": last,
        "unsealed": total - sealed,
        "unsealedAgeSec": int((now - oldest_unsealed).total_seconds()) if oldest_unsealed else 0,
        "anchorsWaiting": waiting.count(),
        "anchorLagSec": int((now - oldest_waiting.checkpoint.created_at).total_seconds()) if oldest_waiting else 0,
        "lastAnchorError": last_error or None,
    }
