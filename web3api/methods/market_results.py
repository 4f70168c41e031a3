"""web3.market.submitResult and web3.market.reviewResult."""

from rest_framework import serializers

from market.archive_store import CID_PATTERN
from market.hashing import RESULT_HASH_FIELDS
from market.services import results as result_services
from web3api.methods.market_tasks import UNDELIVERED, signature_field
from web3api.registry import method
from web3api.serializers import HEX64_PATTERN, Params, StrictCharField, id_field
from web3api.shapes.tasks import TaskReceiptOut, TaskResultOut


class ArtifactParams(Params):
    name = StrictCharField(max_length=200)
    sha256 = serializers.RegexField(HEX64_PATTERN, help_text="Lowercase hex sha256 of the artifact.")
    uri = StrictCharField(max_length=500, required=False, help_text="Where the artifact can be fetched.")
    cid = serializers.RegexField(
        CID_PATTERN,
        max_length=64,
        required=False,
        help_text="An archive object (web3.archive.put) holding the artifact, whose digest is `sha256`: the task's "
        "creator can then web3.archive.get it.",
    )


class SubmitResultParams(Params):
    taskId = id_field("task")
    summary = StrictCharField(max_length=10000)
    artifacts = ArtifactParams(many=True, max_length=50, help_text="[{name, sha256, uri?, cid?}]; may be empty.")
    signature = signature_field("{taskId, summary, artifacts}")


@method(
    name="web3.market.submitResult",
    summary="Deliver the result of an awarded task (once, before deliverBy).",
    group="market",
    params=SubmitResultParams,
    result=TaskResultOut,
    hash_fields=RESULT_HASH_FIELDS,
    permissions=["the awarded bidder"],
    errors=["E_NOT_FOUND", "E_CONFLICT", "E_EXPIRED", "E_AUTH_REQUIRED"],
    prerequisites=[
        "an active award of this task to the caller",
        "no result yet for the award",
        "before the award's deliverBy",
    ],
    description="After deliverBy the award takes no result: E_EXPIRED by the clock, even before any sweep runs. "
    + UNDELIVERED
    + " A revoked award takes no result either (E_CONFLICT).",
)
def submit_result(call, params):
    artifacts = [dict(a) for a in params["artifacts"]]
    return result_services.result_submit(
        task_id=params["taskId"],
        actor_id=call.actor_id,
        summary=params["summary"],
        artifacts=artifacts,
        signature=params.get("signature"),
        is_staff=call.is_staff,
    )


class ReviewResultParams(Params):
    resultId = id_field("result")
    decision = serializers.ChoiceField(choices=["accept", "reject"])
    reason = StrictCharField(max_length=5000, required=False, default="", allow_blank=True)
    signature = signature_field("{resultId, decision, reason}")


class ReviewResultOut(serializers.Serializer):
    result = TaskResultOut()
    receipt = TaskReceiptOut()


@method(
    name="web3.market.reviewResult",
    summary="Accept (pays the deliverer) or reject (opens the dispute window).",
    moves_money=True,
    group="market",
    params=ReviewResultParams,
    result=ReviewResultOut,
    risk="high",
    permissions=["the task's creator"],
    errors=["E_NOT_FOUND", "E_CONFLICT", "E_EXPIRED", "E_AUTH_REQUIRED"],
    prerequisites=["the result is result_submitted", "before its reviewDeadline"],
    description="accept releases the escrow to the deliverer at once (receipt_settled, task_closed). reject "
    "leaves the receipt pending for WEB3_DISPUTE_WINDOW_SEC: with no dispute from the deliverer in that "
    "window the sweep refunds the creator.",
)
def review_result(call, params):
    result, receipt = result_services.result_review(
        result_id=params["resultId"],
        actor_id=call.actor_id,
        decision=params["decision"],
        reason=params["reason"],
        signature=params.get("signature"),
        is_staff=call.is_staff,
    )
    return {"result": result, "receipt": receipt}
