"""Delivery and review: submitResult (one per award, before deliverBy) and reviewResult.

Submitting creates the result and its receipt (receipt_pending). Accepting releases the award's
settlement to the deliverer at once; rejecting opens the dispute window, after which the window
sweep refunds the creator unless the deliverer disputed. An unreviewed result may be disputed
from its review deadline on, and with no dispute is released when the window closes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from market import locks, sql, states, tx
from market.errors import Conflict, Expired, Forbidden, InvalidArgument, NotFound
from market.hashing import object_hash
from market.ids import new_id
from market.models import ArchiveGrant, TaskOrder, TaskReceipt, TaskResult
from market.money import format_amount
from market.services import archive, escrow
from market.services.tasks import audit_task, check_signature, lock_task, task_leaf

R, Rc = TaskResult.Status, TaskReceipt.Status
# `res` names resources. Results made before they had their own prefix keep their res_ ids: every
# lookup is by the whole id, never by its prefix, so both are found.
RESULT_ID_PREFIX = "tres"


def result_signed_fields(*, task_id: str, summary: str, artifacts: list[dict[str, Any]]) -> dict[str, Any]:
    """What a deliverer signs: the result's client-supplied fields with the task's id."""
    return {"taskId": task_id, "summary": summary, "artifacts": artifacts}


def review_signed_fields(*, result_id: str, decision: str, reason: str) -> dict[str, Any]:
    return {"resultId": result_id, "decision": decision, "reason": reason}


def result_submit(
    *,
    task_id: str,
    actor_id: str,
    summary: str,
    artifacts: list[dict[str, Any]],
    signature: str | None = None,
    is_staff: bool = False,
) -> TaskResult:
    with tx.atomic():
        task = lock_task(task_id, actor_id=actor_id, is_staff=is_staff)
        award = locks.lock_award(task)
        if award is None:
            if actor_id == task.creator_actor_id:
                raise Forbidden("only the awarded bidder submits results")
            raise Conflict(f"the task is {task.status}; results need an active award", details={"status": task.status})
        if actor_id != award.bid.bidder_actor_id:
            raise Forbidden("only the awarded bidder submits results")
        if task.status != TaskOrder.Status.AWARDED or TaskResult.objects.filter(award=award).exists():
            raise Conflict("a result was already submitted for this award", details={"status": task.status})
        now = timezone.now()
        if now > award.deliver_by:
            raise Expired("the award's deliverBy has passed", details={"deliverBy": award.deliver_by.isoformat()})
        signed = result_signed_fields(task_id=task.task_id, summary=summary, artifacts=artifacts)
        signature = check_signature(
            signature=signature, fields=signed, actor_id=actor_id, required=task.require_signatures
        )
        _grant_artifacts(artifacts, deliverer=actor_id, creator=task.creator_actor_id)
        review_deadline = now + timedelta(seconds=task.review_window_sec)
        result = TaskResult(
            result_id=new_id(RESULT_ID_PREFIX),
            task=task,
            award=award,
            bid=award.bid,
            deliverer_actor_id=actor_id,
            summary=summary,
            artifacts=artifacts,
            signature=signature,
            review_deadline=review_deadline,
        )
        result.hash = object_hash({**signed, "resultId": result.result_id})
        result.save()
        window_end = review_deadline + timedelta(seconds=settings.WEB3_DISPUTE_WINDOW_SEC)
        receipt = TaskReceipt.objects.create(
            receipt_id=new_id("rcp"),
            task=task,
            bid=award.bid,
            result=result,
            settlement=award.settlement,
            creator_actor_id=task.creator_actor_id,
            deliverer_actor_id=actor_id,
            amount=award.settlement.locked,
            currency=task.currency,
            dispute_opens_at=review_deadline,
            dispute_deadline=window_end,
            payout_due_at=window_end,
        )
        audit_task(
            task,
            "result.submit",
            actor_id,
            [task.creator_actor_id, actor_id],
            resultId=result.result_id,
            receiptId=receipt.receipt_id,
            hash=result.hash,
            signed=bool(signature),
            artifacts=[{k: a[k] for k in ("name", "sha256", "cid") if k in a} for a in artifacts],
            reviewDeadline=review_deadline.isoformat(),
        )
        return result


def _grant_artifacts(artifacts: list[dict[str, Any]], *, deliverer: str, creator: str) -> None:
    """Artifacts that name an archive object: it must be the deliverer's, with the artifact's sha256;
    the task's creator may then get it."""
    objects = archive.archive_grant(
        cids=[a["cid"] for a in artifacts if "cid" in a],
        by_actor_id=deliverer,
        to_actor_ids=[creator],
        reason=ArchiveGrant.Reason.ARTIFACT,
        field="artifacts.cid",
    )
    for i, artifact in enumerate(artifacts):
        if "cid" in artifact and objects[artifact["cid"]].sha256 != artifact["sha256"]:
            raise InvalidArgument.field("artifacts.cid", f"artifact {i}: its sha256 is not the archive object's")


def lock_result(result_id: str, *, actor_id: str, is_staff: bool = False) -> tuple[TaskOrder, TaskResult, TaskReceipt]:
    receipt = locks.lock_result_receipt(result_id)
    result = receipt.result if receipt is not None else None
    if result is None or not (is_staff or actor_id in (result.task.creator_actor_id, result.deliverer_actor_id)):
        raise NotFound("no such result")
    task = receipt.task = result.task
    if receipt.bid_id == result.bid_id:
        receipt.bid = result.bid  # read with the result
    return task, result, receipt


def result_review(
    *,
    result_id: str,
    actor_id: str,
    decision: str,
    reason: str = "",
    signature: str | None = None,
    is_staff: bool = False,
) -> tuple[TaskResult, TaskReceipt]:
    with tx.atomic():
        task, result, receipt = lock_result(result_id, actor_id=actor_id, is_staff=is_staff)
        if actor_id != task.creator_actor_id:
            raise Forbidden("only the task's creator reviews its result")
        now = timezone.now()
        if result.status == R.SUBMITTED and now > result.review_deadline:
            raise Expired(
                "the review deadline has passed", details={"reviewDeadline": result.review_deadline.isoformat()}
            )
        signature = check_signature(
            signature=signature,
            fields=review_signed_fields(result_id=result_id, decision=decision, reason=reason),
            actor_id=actor_id,
            required=False,
        )
        result.reviewed_at, result.review_reason, result.review_signature = now, reason, signature
        states.transition(result, decision, save=False)
        # The result's, the receipt's (and on accept the task's) new states and the leaf, with the
        # release on accept: one statement on PostgreSQL.
        parties = [task.creator_actor_id, result.deliverer_actor_id]
        changes: list[sql.Part] = [
            sql.update_statement(result, ["status", "reviewed_at", "review_reason", "review_signature", "updated_at"])
        ]
        payload: dict[str, Any] = {
            "resultId": result.result_id,
            "receiptId": receipt.receipt_id,
            "decision": decision,
            "reason": reason,
            "signed": bool(signature),
        }
        if decision == "accept":
            receipt.payout_due_at = receipt.settled_at = now
            receipt.dispute_opens_at = receipt.dispute_deadline = None
            states.transition(receipt, "settle", save=False)
            states.transition(task, "close", save=False)
            changes.append(
                sql.update_statement(
                    receipt,
                    ["status", "payout_due_at", "settled_at", "dispute_opens_at", "dispute_deadline", "updated_at"],
                )
            )
            changes.append(sql.update_statement(task, ["status", "updated_at"]))
            # All that remains is released: the settlement as read with the receipt is current (every
            # change to it locks the task first, and the task is locked here).
            released = receipt.settlement.locked - receipt.settlement.refunded
            payload["released"] = format_amount(released, task.currency)
            changes.append(task_leaf(task, "result.review", actor_id, parties, **payload))
            receipt.settlement = escrow.escrow_release(
                settlement_id=receipt.settlement.settlement_id,
                by_actor_id=actor_id,
                reason="result accepted",
                reference=f"task:{task.task_id}",
                also=tuple(changes),
            )
            if receipt.settlement.released != released:
                raise AssertionError("the settlement changed without its task's lock")
        else:
            receipt.dispute_opens_at = now
            receipt.dispute_deadline = receipt.payout_due_at = now + timedelta(seconds=settings.WEB3_DISPUTE_WINDOW_SEC)
            changes.append(
                sql.update_statement(receipt, ["dispute_opens_at", "dispute_deadline", "payout_due_at", "updated_at"])
            )
            payload["disputeDeadline"] = receipt.dispute_deadline.isoformat()
            changes.append(task_leaf(task, "result.review", actor_id, parties, **payload))
            sql.run_together(*changes)
        # receipt.settlement is as the release left it, or (on reject) as read with the receipt: every
        # change to it locks the task first, and the task is locked here.
        # No ruling's payout waits on the receipt (market.selectors.tasks.receipt_payout_state): a
        # dispute opens only once the review deadline has passed or the result was rejected, and a
        # result is reviewed only while submitted, before its deadline.
        receipt.payout_waiting_for = None
        return result, receipt
