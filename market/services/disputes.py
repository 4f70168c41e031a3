"""Disputes: open (with its evidence bundle), submit evidence, resolve (rule or decline), appeal.

No money moves here: a ruling only records the outcome and the seq of its audit event; the
dispute sweep (market.services.task_sweeps) pays it out once the appeal window has passed and the
payout gate (market.audit.payout_gate) agrees.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from market import locks, states
from market.audit.log import audit_record
from market.audit.sequencer import position_of
from market.canonical import canonical_text, sha256_text
from market.errors import Conflict, Expired, Forbidden, InvalidArgument, NotFound, QuotaExceeded
from market.ids import new_id
from market.models import (
    AuditEvent,
    Dispute,
    DisputeEvidence,
    TaskAward,
    TaskReceipt,
)
from market.money import format_amount
from market.services import archive
from market.services.tasks import lock_task

D, Rc = Dispute.Status, TaskReceipt.Status
SYSTEM = "system"
MAX_EVIDENCE_PER_PARTY = 5
MAX_EVIDENCE_BYTES = 10 * 1024
# The columns a ruling sets and an appeal clears.
RULING_FIELDS = ("decision", "payee_share_bps", "rationale", "arbitrator_actor_id", "ruled_at", "appeal_deadline")


def _audit(dispute: Dispute, action: str, actor_id: str, **payload: Any) -> AuditEvent:
    return audit_record(
        actor_id=actor_id,
        action=action,
        object_type="dispute",
        object_id=dispute.dispute_id,
        payload={"status": dispute.status, "taskId": dispute.task.task_id, **payload},
        parties=list(dispute.parties),
    )


def evidence_bundle(receipt: TaskReceipt) -> dict[str, Any]:
    """What the dispute is about, frozen when it opens: the task, the award, the result's artifact
    hashes, the settlement's state and the ids of the audit events that concern them."""
    task, result = receipt.task, receipt.result
    award: TaskAward = result.award
    s = receipt.settlement
    c = task.currency
    events = (
        AuditEvent.objects.filter(
            Q(object_type="task", object_id=task.task_id) | Q(object_type="settlement", object_id=s.settlement_id)
        )
        .order_by("pk")  # written order: the newest may not have a position yet
        .values_list("event_id", flat=True)
    )
    return {
        "task": {
            "taskId": task.task_id,
            "hash": task.hash,
            "budget": format_amount(task.budget, c),
            "currency": c,
            "creatorActorId": task.creator_actor_id,
        },
        "award": {
            "awardId": award.award_id,
            "bidId": award.bid.bid_id,
            "price": format_amount(award.bid.price, c),
            "deliverBy": award.deliver_by.isoformat(),
            "bidHash": award.bid.hash,
        },
        "result": {
            "resultId": result.result_id,
            "hash": result.hash,
            "status": result.status,
            "artifacts": [{"name": a["name"], "sha256": a["sha256"]} for a in result.artifacts],
        },
        "settlement": {
            "settlementId": s.settlement_id,
            "status": s.status,
            "locked": format_amount(s.locked, c),
            "released": format_amount(s.released, c),
            "refunded": format_amount(s.refunded, c),
            "remaining": format_amount(s.remaining, c),
        },
        "auditEventIds": list(events),
    }


def dispute_open(*, task_id: str, actor_id: str, reason: str, is_staff: bool = False) -> tuple[Dispute, bool]:
    """The deliverer disputes a rejected result, or one not reviewed by its deadline, within the
    dispute window. A second open returns the live dispute (merged=True)."""
    with transaction.atomic():
        task = lock_task(task_id, actor_id=actor_id, is_staff=is_staff)
        receipt = locks.lock_latest_receipt(task)
        if receipt is None:
            if actor_id == task.creator_actor_id:
                raise Forbidden("only the deliverer opens a dispute")
            raise Conflict("there is no delivered result to dispute", details={"status": task.status})
        if actor_id != receipt.deliverer_actor_id:
            raise Forbidden("only the deliverer opens a dispute; the creator's recourse is rejection")
        receipt.task = task
        live = locks.lock_live_dispute(receipt)
        if live is not None:
            return live, True
        if receipt.status != Rc.PENDING:
            raise Conflict(f"the receipt is {receipt.status}", details={"status": receipt.status})
        now = timezone.now()
        if now < receipt.dispute_opens_at:
            raise Conflict(
                "the result is still within its review window",
                details={"status": receipt.result.status, "reviewDeadline": receipt.result.review_deadline.isoformat()},
            )
        if now > receipt.dispute_deadline:
            raise Expired(
                "the dispute window has closed", details={"disputeDeadline": receipt.dispute_deadline.isoformat()}
            )
        day_count = Dispute.objects.filter(initiator_actor_id=actor_id, created_at__gt=now - timedelta(days=1)).count()
        if day_count >= settings.WEB3_DISPUTES_PER_DAY:
            raise QuotaExceeded(
                f"at most {settings.WEB3_DISPUTES_PER_DAY} disputes per day",
                details={"limit": settings.WEB3_DISPUTES_PER_DAY},
            )
        bundle = evidence_bundle(receipt)
        try:
            with transaction.atomic():
                dispute = Dispute.objects.create(
                    dispute_id=new_id("dsp"),
                    task=task,
                    receipt=receipt,
                    initiator_actor_id=actor_id,
                    creator_actor_id=task.creator_actor_id,
                    deliverer_actor_id=receipt.deliverer_actor_id,
                    reason=reason,
                )
        except IntegrityError:
            return Dispute.objects.get(receipt=receipt, status__in=Dispute.LIVE), True
        bundle_text = canonical_text(bundle)
        DisputeEvidence.objects.create(
            evidence_id=new_id("evd"),
            dispute=dispute,
            submitter_actor_id=SYSTEM,
            kind="bundle",
            content=bundle_text,
            sha256=sha256_text(bundle_text),
        )
        receipt.payout_due_at = None
        states.transition(receipt, "dispute", update_fields=["payout_due_at"])
        _audit(
            dispute,
            "dispute.open",
            actor_id,
            receiptId=receipt.receipt_id,
            reason=reason,
            bundleSha256=sha256_text(bundle_text),
        )
        return dispute, False


def lock_dispute(dispute_id: str, *, actor_id: str, is_staff: bool = False, is_arbitrator: bool = False) -> Dispute:
    """Parties, arbitrators and staff see a dispute; for anyone else it does not exist. Locks in
    the fixed order: the task, its receipt, then the dispute."""
    found = Dispute.objects.filter(dispute_id=dispute_id).first()
    if found is None or not (is_staff or is_arbitrator or actor_id in found.parties):
        raise NotFound("no such dispute")
    task = locks.lock_task(pk=found.task_id)
    receipt = locks.lock_receipt(pk=found.receipt_id)
    dispute = locks.lock_dispute(pk=found.pk)
    dispute.task, dispute.receipt = task, receipt
    return dispute


def evidence_submit(
    *,
    dispute_id: str,
    actor_id: str,
    kind: str,
    sha256: str,
    content: str = "",
    uri: str = "",
    cid: str = "",
    is_staff: bool = False,
    is_arbitrator: bool = False,
) -> DisputeEvidence:
    """A party's evidence: content, a uri, or an archive object (`cid`, the submitter's, whose
    sha256 is `sha256`), which the dispute's parties may then get (and arbitrators, as evidence)."""
    if not content and not uri and not cid:
        raise InvalidArgument.field("content", "give content, uri, cid or more than one")
    if len(content.encode()) > MAX_EVIDENCE_BYTES:
        raise InvalidArgument.field("content", f"at most {MAX_EVIDENCE_BYTES} bytes")
    if content and sha256_text(content) != sha256:
        raise InvalidArgument.field("sha256", "does not match the sha256 of content")
    with transaction.atomic():
        dispute = lock_dispute(dispute_id, actor_id=actor_id, is_staff=is_staff, is_arbitrator=is_arbitrator)
        if actor_id not in dispute.parties:
            raise Forbidden("only the parties submit evidence")
        if dispute.status not in Dispute.LIVE:
            raise Conflict(
                f"the dispute is {dispute.status}; evidence is taken before the ruling",
                details={"status": dispute.status},
            )
        count = DisputeEvidence.objects.filter(dispute=dispute, submitter_actor_id=actor_id).count()
        if count >= MAX_EVIDENCE_PER_PARTY:
            raise QuotaExceeded(
                f"at most {MAX_EVIDENCE_PER_PARTY} evidence items per party", details={"limit": MAX_EVIDENCE_PER_PARTY}
            )
        if cid:
            shared = archive.archive_grant(
                cids=[cid], by_actor_id=actor_id, to_actor_ids=dispute.parties, reason="evidence", field="cid"
            )
            if shared[cid].sha256 != sha256:
                raise InvalidArgument.field("sha256", "is not the sha256 of the archive object `cid`")
        item = DisputeEvidence.objects.create(
            evidence_id=new_id("evd"),
            dispute=dispute,
            submitter_actor_id=actor_id,
            kind=kind,
            content=content,
            uri=uri,
            cid=cid,
            sha256=sha256,
        )
        extra = {"cid": cid} if cid else {}
        _audit(dispute, "dispute.evidence", actor_id, evidenceId=item.evidence_id, kind=kind, sha256=sha256, **extra)
        return item


def dispute_resolve(
    *, dispute_id: str, actor_id: str, decision: str, rationale: str, payee_share_bps: int | None = None
) -> Dispute:
    """An arbitrator who is not a party rules (payee share in bps) or declines. The second ruling,
    after an appeal, must come from another arbitrator and is final."""
    if decision == Dispute.Decision.RULE and payee_share_bps is None:
        raise InvalidArgument.field("payeeShareBps", "required when decision is rule")
    if decision == Dispute.Decision.DECLINE and payee_share_bps is not None:
        raise InvalidArgument.field("payeeShareBps", "only with decision rule")
    with transaction.atomic():
        dispute = lock_dispute(dispute_id, actor_id=actor_id, is_arbitrator=True)
        if actor_id in dispute.parties:
            raise Forbidden("a party cannot rule on its own dispute")
        if dispute.status == D.APPEALED and actor_id == dispute.first_arbitrator_actor_id:
            raise Forbidden("the appeal must be ruled by another arbitrator")
        receipt = dispute.receipt
        now = timezone.now()
        dispute.decision, dispute.payee_share_bps, dispute.rationale = decision, payee_share_bps, rationale
        dispute.arbitrator_actor_id, dispute.ruled_at = actor_id, now
        final = dispute.round == 2
        dispute.appeal_deadline = None if final else now + timedelta(seconds=settings.WEB3_APPEAL_WINDOW_SEC)
        states.transition(
            dispute,
            decision,
            update_fields=list(RULING_FIELDS),
        )
        receipt.payout_due_at = dispute.appeal_deadline or now
        receipt.save(update_fields=["payout_due_at", "updated_at"])
        event = _audit(
            dispute,
            f"dispute.{decision}",
            actor_id,
            decision=decision,
            payeeShareBps=payee_share_bps,
            rationale=rationale,
            round=dispute.round,
            final=final,
            appealDeadline=dispute.appeal_deadline.isoformat() if dispute.appeal_deadline else None,
        )
        # The payout waits for a checkpoint covering this position: the ruling takes it at once.
        dispute.ruling_event_seq = position_of(event)
        dispute.save(update_fields=["ruling_event_seq", "updated_at"])
        return dispute


def dispute_appeal(
    *, dispute_id: str, actor_id: str, reason: str, is_staff: bool = False, is_arbitrator: bool = False
) -> Dispute:
    with transaction.atomic():
        dispute = lock_dispute(dispute_id, actor_id=actor_id, is_staff=is_staff, is_arbitrator=is_arbitrator)
        if actor_id not in dispute.parties:
            raise Forbidden("only the parties may appeal")
        if dispute.status not in (D.RESOLVED, D.REJECTED) or dispute.paid_out_at is not None:
            # the table refuses open/appealed; a final ruling is refused by its guard
            states.transition(dispute, "appeal", save=False)
            raise Conflict("the ruling has been paid out", details={"status": dispute.status})
        if dispute.round == 1 and timezone.now() > dispute.appeal_deadline:
            raise Expired(
                "the appeal window has closed", details={"appealDeadline": dispute.appeal_deadline.isoformat()}
            )
        receipt = dispute.receipt
        dispute.history = [*dispute.history, dispute.ruling_entry()]
        dispute.first_arbitrator_actor_id = dispute.arbitrator_actor_id
        dispute.appealed_by, dispute.appeal_reason = actor_id, reason
        dispute.decision, dispute.payee_share_bps, dispute.rationale = "", None, ""
        dispute.arbitrator_actor_id, dispute.ruled_at, dispute.appeal_deadline = "", None, None
        dispute.ruling_event_seq = None
        states.transition(dispute, "appeal")
        dispute.round = 2
        dispute.save(
            update_fields=[
                "history",
                "first_arbitrator_actor_id",
                "appealed_by",
                "appeal_reason",
                *RULING_FIELDS,
                "ruling_event_seq",
                "round",
                "updated_at",
            ]
        )
        receipt.payout_due_at = None
        receipt.save(update_fields=["payout_due_at", "updated_at"])
        _audit(dispute, "dispute.appeal", actor_id, reason=reason)
        return dispute
