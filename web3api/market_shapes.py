"""Output shapes of the task market and disputes (API.md's objects), shared by their methods."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from market.audit.payout_gate import payout_wait_reason
from market.hashing import BID_HASH_FIELDS, DISPUTE_HASH_FIELDS, TASK_HASH_FIELDS, object_hash
from market.models import Dispute, TaskAward, TaskBid, TaskOrder, TaskReceipt, TaskResult
from market.money import format_amount
from market.selectors import disputes as dispute_selectors
from market.selectors import tasks as task_selectors
from market.selectors.audit import seal_state


class TaskAwardOut(serializers.Serializer):
    awardId = serializers.CharField()
    taskId = serializers.CharField()
    bidId = serializers.CharField()
    bidderActorId = serializers.CharField()
    settlementId = serializers.CharField()
    price = serializers.CharField(help_text="The accepted bid's price, locked in escrow (decimal string).")
    currency = serializers.CharField()
    deliverBy = serializers.DateTimeField(help_text="awardedAt + etaSec.")
    status = serializers.ChoiceField(choices=TaskAward.Status.values)
    createdAt = serializers.DateTimeField()


class TaskResultOut(serializers.Serializer):
    resultId = serializers.CharField(
        help_text="tres_...; results delivered before results had their own prefix "
        "keep their res_... ids, and are found by them."
    )
    taskId = serializers.CharField()
    bidId = serializers.CharField()
    delivererActorId = serializers.CharField()
    summary = serializers.CharField()
    artifacts = serializers.JSONField(help_text="[{name, sha256, uri?}]")
    status = serializers.ChoiceField(choices=TaskResult.Status.values)
    reviewDeadline = serializers.DateTimeField()
    reviewedAt = serializers.DateTimeField(allow_null=True)
    reviewReason = serializers.CharField(allow_blank=True)
    signed = serializers.BooleanField(help_text="True when the deliverer signed the result.")
    hash = serializers.CharField()
    createdAt = serializers.DateTimeField()


class TaskReceiptOut(serializers.Serializer):
    receiptId = serializers.CharField()
    taskId = serializers.CharField()
    bidId = serializers.CharField()
    amount = serializers.CharField(help_text="The escrowed amount (decimal string).")
    currency = serializers.CharField()
    settlementId = serializers.CharField()
    settlementStatus = serializers.CharField()
    status = serializers.ChoiceField(choices=TaskReceipt.Status.values)
    disputeDeadline = serializers.DateTimeField(allow_null=True, help_text="The deliverer may dispute until then.")
    payoutDueAt = serializers.DateTimeField(allow_null=True, help_text="When the window sweep moves the money.")
    payoutWaitingFor = serializers.CharField(allow_null=True, help_text="What a ruling's payout waits for.")
    createdAt = serializers.DateTimeField()


class TaskOrderOut(serializers.Serializer):
    taskId = serializers.CharField()
    creatorActorId = serializers.CharField()
    title = serializers.CharField()
    requirements = serializers.CharField()
    budget = serializers.CharField(help_text="Decimal string.")
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=TaskOrder.Status.values)
    expiresAt = serializers.DateTimeField()
    ttlSec = serializers.IntegerField()
    reviewWindowSec = serializers.IntegerField()
    requireSignatures = serializers.BooleanField()
    hash = serializers.CharField(help_text="sha256 over " + ", ".join(TASK_HASH_FIELDS))
    createdAt = serializers.DateTimeField()


class TaskDetailOut(TaskOrderOut):
    award = TaskAwardOut(allow_null=True, help_text="The latest award (the creator and its bidder see it).")
    result = TaskResultOut(allow_null=True)
    receipt = TaskReceiptOut(allow_null=True)


class TaskBidOut(serializers.Serializer):
    bidId = serializers.CharField()
    taskId = serializers.CharField()
    bidderActorId = serializers.CharField()
    price = serializers.CharField()
    currency = serializers.CharField()
    etaSec = serializers.IntegerField()
    note = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=TaskBid.Status.values)
    signed = serializers.BooleanField()
    hash = serializers.CharField(help_text="sha256 over " + ", ".join(BID_HASH_FIELDS))
    createdAt = serializers.DateTimeField()


def task_out(t: TaskOrder) -> dict[str, Any]:
    return {
        "taskId": t.task_id,
        "creatorActorId": t.creator_actor_id,
        "title": t.title,
        "requirements": t.requirements,
        "budget": format_amount(t.budget, t.currency),
        "currency": t.currency,
        "status": t.status,
        "expiresAt": t.expires_at,
        "ttlSec": t.ttl_sec,
        "reviewWindowSec": t.review_window_sec,
        "requireSignatures": t.require_signatures,
        "hash": t.hash,
        "createdAt": t.created_at,
    }


def bid_out(b: TaskBid) -> dict[str, Any]:
    c = b.task.currency
    return {
        "bidId": b.bid_id,
        "taskId": b.task.task_id,
        "bidderActorId": b.bidder_actor_id,
        "price": format_amount(b.price, c),
        "currency": c,
        "etaSec": b.eta_sec,
        "note": b.note,
        "status": b.status,
        "signed": bool(b.signature),
        "hash": b.hash,
        "createdAt": b.created_at,
    }


def award_out(a: TaskAward) -> dict[str, Any]:
    c = a.task.currency
    return {
        "awardId": a.award_id,
        "taskId": a.task.task_id,
        "bidId": a.bid.bid_id,
        "bidderActorId": a.bid.bidder_actor_id,
        "settlementId": a.settlement.settlement_id,
        "price": format_amount(a.bid.price, c),
        "currency": c,
        "deliverBy": a.deliver_by,
        "status": a.status,
        "createdAt": a.created_at,
    }


def result_out(r: TaskResult) -> dict[str, Any]:
    return {
        "resultId": r.result_id,
        "taskId": r.task.task_id,
        "bidId": r.bid.bid_id,
        "delivererActorId": r.deliverer_actor_id,
        "summary": r.summary,
        "artifacts": r.artifacts,
        "status": r.status,
        "reviewDeadline": r.review_deadline,
        "reviewedAt": r.reviewed_at,
        "reviewReason": r.review_reason,
        "signed": bool(r.signature),
        "hash": r.hash,
        "createdAt": r.created_at,
    }


def receipt_out(r: TaskReceipt) -> dict[str, Any]:
    dispute = task_selectors.receipt_dispute(r)
    waiting = None
    if dispute is not None and dispute.ruled_at is not None and dispute.paid_out_at is None:
        waiting = payout_wait_reason(dispute)
    return {
        "receiptId": r.receipt_id,
        "taskId": r.task.task_id,
        "bidId": r.bid.bid_id,
        "amount": format_amount(r.amount, r.currency),
        "currency": r.currency,
        "settlementId": r.settlement.settlement_id,
        "settlementStatus": r.settlement.status,
        "status": r.status,
        "disputeDeadline": r.dispute_deadline if r.status == TaskReceipt.Status.PENDING else None,
        "payoutDueAt": r.payout_due_at,
        "payoutWaitingFor": waiting,
        "createdAt": r.created_at,
    }


def task_detail_out(t: TaskOrder, actor_id: str, is_staff: bool) -> dict[str, Any]:
    out = {**task_out(t), "award": None, "result": None, "receipt": None}
    award = task_selectors.latest_award(t)
    if award is None or not (is_staff or actor_id in (t.creator_actor_id, award.bid.bidder_actor_id)):
        return out
    out["award"] = award_out(award)
    result = task_selectors.task_result(t)
    if result is not None:
        out["result"] = result_out(result)
        receipt = task_selectors.task_receipt(t)
        out["receipt"] = receipt_out(receipt) if receipt else None
    return out


class EvidenceOut(serializers.Serializer):
    evidenceId = serializers.CharField()
    submitterActorId = serializers.CharField(help_text="A party, or `system` for the bundle attached on opening.")
    kind = serializers.CharField()
    content = serializers.CharField(allow_blank=True)
    uri = serializers.CharField(allow_blank=True)
    sha256 = serializers.CharField()
    createdAt = serializers.DateTimeField()


class AnchorOut(serializers.Serializer):
    txHash = serializers.CharField()
    chainId = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["signed", "sent", "anchored", "failed"])
    blockNumber = serializers.IntegerField(allow_null=True)


class SealOut(serializers.Serializer):
    sealed = serializers.BooleanField(
        help_text="True once a signed checkpoint covers the ruling's audit event (the payout waits for this)."
    )
    treeSize = serializers.IntegerField(allow_null=True, help_text="The covering checkpoint's tree size.")
    anchor = AnchorOut(
        allow_null=True, help_text="That checkpoint's chain transaction, if any: shown, never waited on."
    )


class RulingOut(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Dispute.Decision.values)
    payeeShareBps = serializers.IntegerField(allow_null=True)
    rationale = serializers.CharField(allow_blank=True)
    arbitratorActorId = serializers.CharField()
    ruledAt = serializers.DateTimeField()
    final = serializers.BooleanField(help_text="True for the ruling on an appeal.")
    eventSeq = serializers.IntegerField(allow_null=True, help_text="Seq of the ruling's audit event.")
    seal = SealOut(help_text="Where the ruling's audit event stands: its checkpoint, and that checkpoint's anchor.")


class DisputeOut(serializers.Serializer):
    disputeId = serializers.CharField()
    taskId = serializers.CharField()
    receiptId = serializers.CharField()
    initiatorActorId = serializers.CharField()
    creatorActorId = serializers.CharField()
    delivererActorId = serializers.CharField()
    arbitratorType = serializers.ChoiceField(choices=["offchain", "onchain"])
    status = serializers.ChoiceField(choices=Dispute.Status.values)
    reason = serializers.CharField()
    round = serializers.IntegerField(help_text="1, or 2 after an appeal.")
    ruling = RulingOut(allow_null=True)
    appealDeadline = serializers.DateTimeField(allow_null=True)
    appeal = serializers.JSONField(allow_null=True, help_text="{byActorId, reason} once appealed.")
    history = serializers.JSONField(help_text="Earlier rulings, oldest first.")
    paidOut = serializers.BooleanField(help_text="True once the outcome moved the money.")
    evidence = EvidenceOut(many=True)
    hash = serializers.CharField(help_text="sha256 over " + ", ".join(DISPUTE_HASH_FIELDS))
    createdAt = serializers.DateTimeField()


def dispute_out(d: Dispute, *, merged: bool | None = None, seal: dict[str, Any] | None = None) -> dict[str, Any]:
    """`seal`: the ruling's seal_state when the caller has it already (a list reads them in one go)."""
    ruling = None
    if d.ruled_at is not None:
        ruling = {
            "decision": d.decision,
            "payeeShareBps": d.payee_share_bps,
            "rationale": d.rationale,
            "arbitratorActorId": d.arbitrator_actor_id,
            "ruledAt": d.ruled_at,
            "final": d.round == 2,
            "eventSeq": d.ruling_event_seq,
            "seal": seal or seal_state(d.ruling_event_seq),
        }
    out = {
        "disputeId": d.dispute_id,
        "taskId": d.task.task_id,
        "receiptId": d.receipt.receipt_id,
        "initiatorActorId": d.initiator_actor_id,
        "creatorActorId": d.creator_actor_id,
        "delivererActorId": d.deliverer_actor_id,
        "arbitratorType": d.arbitrator_type,
        "status": d.status,
        "reason": d.reason,
        "round": d.round,
        "ruling": ruling,
        "appealDeadline": d.appeal_deadline,
        "appeal": {"byActorId": d.appealed_by, "reason": d.appeal_reason} if d.appealed_by else None,
        "history": d.history,
        "paidOut": d.paid_out_at is not None,
        "evidence": [
            {
                "evidenceId": e.evidence_id,
                "submitterActorId": e.submitter_actor_id,
                "kind": e.kind,
                "content": e.content,
                "uri": e.uri,
                "sha256": e.sha256,
                "createdAt": e.created_at,
            }
            for e in dispute_selectors.dispute_evidence(d)
        ],
        "hash": object_hash({"disputeId": d.dispute_id, "taskId": d.task.task_id, "reason": d.reason}),
        "createdAt": d.created_at,
    }
    if merged is not None:
        out["merged"] = merged
    return out
