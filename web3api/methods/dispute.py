"""web3.dispute.open|submitEvidence|resolve|appeal|get|list, and the market's status part."""

from rest_framework import serializers

from market.archive_store import CID_PATTERN
from market.hashing import DISPUTE_HASH_FIELDS
from market.models import Dispute
from market.selectors import disputes as dispute_selectors
from market.services import disputes as dispute_services
from market.services.disputes import MAX_EVIDENCE_BYTES
from web3api import status
from web3api.pagination import paginate
from web3api.registry import method
from web3api.serializers import (
    HEX64_PATTERN,
    TEXT_PATTERN,
    Params,
    StrictCharField,
    cursor_field,
    id_field,
    limit_field,
)
from web3api.shapes.disputes import DisputeOut, EvidenceOut

PARTIES = "the task's creator and the deliverer (parties), arbitrators and staff see a dispute"


class DisputeOpenParams(Params):
    taskId = id_field("task")
    reason = StrictCharField(max_length=5000)


# The dispute, with `merged` as open_dispute sets it on the instance.
class DisputeOpenOut(DisputeOut):
    merged = serializers.BooleanField(help_text="True when the call joined the task's live dispute.")


@method(
    name="web3.dispute.open",
    summary="The deliverer disputes a rejected or unreviewed result.",
    group="dispute",
    params=DisputeOpenParams,
    result=DisputeOpenOut,
    hash_fields=DISPUTE_HASH_FIELDS,
    risk="medium",
    permissions=["the deliverer of the task's result"],
    errors=["E_NOT_FOUND", "E_CONFLICT", "E_EXPIRED"],
    prerequisites=[
        "the result was rejected, or not reviewed by its reviewDeadline",
        "within WEB3_DISPUTE_WINDOW_SEC of the rejection or the review deadline",
        "at most WEB3_DISPUTES_PER_DAY disputes per day",
    ],
    description="Attaches an evidence bundle (task, award, artifact hashes, settlement state, audit event ids). "
    "A second open returns the live dispute with merged=true.",
)
def open_dispute(call, params):
    dispute, merged = dispute_services.dispute_open(
        task_id=params["taskId"], actor_id=call.actor_id, reason=params["reason"], is_staff=call.is_staff
    )
    dispute = dispute_selectors.dispute_shown(dispute)
    dispute.merged = merged
    return dispute


class DisputeEvidenceParams(Params):
    disputeId = id_field("dispute")
    kind = serializers.RegexField(r"^[a-z][a-z0-9_-]{0,39}$", help_text="e.g. text, log, screenshot, link.")
    content = StrictCharField(
        max_length=MAX_EVIDENCE_BYTES,
        required=False,
        default="",
        allow_blank=True,
        trim_whitespace=False,
        help_text=f"The evidence itself, kept as sent: at most {MAX_EVIDENCE_BYTES} bytes of "
        "UTF-8 (the schema's maxLength counts characters; a character may take up to 4 "
        "bytes). Give content, uri or both.",
    )
    uri = StrictCharField(
        max_length=500,
        required=False,
        default="",
        allow_blank=True,
        help_text="Where the evidence can be fetched. Give content, uri, cid or more than one.",
    )
    cid = serializers.RegexField(
        CID_PATTERN,
        max_length=64,
        required=False,
        default="",
        help_text="An archive object of yours (web3.archive.put) holding the evidence; `sha256` must be its "
        "digest. The dispute's parties and arbitrators can then web3.archive.get it.",
    )
    sha256 = serializers.RegexField(
        HEX64_PATTERN,
        help_text="Lowercase hex sha256 of the evidence: with content, "
        "the sha256 of its UTF-8 bytes; with cid, the archive object's (no schema can say that; another value is "
        "E_INVALID_ARGUMENT).",
    )

    json_schema = {
        "anyOf": [
            {"required": ["content"], "properties": {"content": {"minLength": 1}}},
            {"required": ["uri"], "properties": {"uri": {"pattern": TEXT_PATTERN}}},
            {"required": ["cid"]},
        ]
    }


@method(
    name="web3.dispute.submitEvidence",
    summary="A party adds evidence before the ruling (5 items each).",
    group="dispute",
    params=DisputeEvidenceParams,
    result=EvidenceOut,
    permissions=["the dispute's parties"],
    errors=["E_NOT_FOUND", "E_CONFLICT"],
    unexpressible={
        "sha256": "must be the sha256 of the UTF-8 bytes of `content`: no keyword computes a digest",
        "content": f"at most {MAX_EVIDENCE_BYTES} bytes of UTF-8: maxLength counts characters, not bytes",
        "cid": "must name an archive object the caller can get, whose sha256 is `sha256`: no keyword reads the archive",
    },
)
def submit_evidence(call, params):
    return dispute_services.evidence_submit(
        dispute_id=params["disputeId"],
        actor_id=call.actor_id,
        kind=params["kind"],
        sha256=params["sha256"],
        content=params["content"],
        uri=params["uri"],
        cid=params["cid"],
        is_staff=call.is_staff,
        is_arbitrator=call.is_arbitrator,
    )


class DisputeResolveParams(Params):
    disputeId = id_field("dispute")
    decision = serializers.ChoiceField(choices=Dispute.Decision.values)
    payeeShareBps = serializers.IntegerField(
        min_value=0,
        max_value=10000,
        required=False,
        help_text="With rule: the deliverer's share in basis points; required with rule, refused with decline.",
    )
    rationale = StrictCharField(max_length=5000)

    json_schema = {
        "oneOf": [
            {"properties": {"decision": {"enum": [Dispute.Decision.RULE.value]}}, "required": ["payeeShareBps"]},
            {
                "properties": {"decision": {"enum": [Dispute.Decision.DECLINE.value]}},
                "not": {"required": ["payeeShareBps"]},
            },
        ]
    }


@method(
    name="web3.dispute.resolve",
    ends_object=True,
    summary="Rule (split the escrow) or decline (the prior outcome stands).",
    group="dispute",
    auth="arbitrator",
    params=DisputeResolveParams,
    result=DisputeOut,
    risk="high",
    permissions=["an arbitrator who is not a party; after an appeal, another arbitrator than the first"],
    errors=["E_NOT_FOUND", "E_CONFLICT"],
    description="payee share = floor(amount x payeeShareBps / 10000) minor units to the deliverer, the rest back "
    "to the creator, paid by the sweep once WEB3_APPEAL_WINDOW_SEC passes with no appeal (at once after a "
    "final ruling) and the ruling's audit event is covered by a checkpoint.",
)
def resolve_dispute(call, params):
    return dispute_selectors.dispute_shown(
        dispute_services.dispute_resolve(
            dispute_id=params["disputeId"],
            actor_id=call.actor_id,
            decision=params["decision"],
            rationale=params["rationale"],
            payee_share_bps=params.get("payeeShareBps"),
        )
    )


class DisputeAppealParams(Params):
    disputeId = id_field("dispute")
    reason = StrictCharField(max_length=5000)


@method(
    name="web3.dispute.appeal",
    summary="Appeal the first ruling within the appeal window.",
    group="dispute",
    params=DisputeAppealParams,
    result=DisputeOut,
    permissions=["the dispute's parties"],
    errors=["E_NOT_FOUND", "E_CONFLICT", "E_EXPIRED"],
)
def appeal_dispute(call, params):
    return dispute_selectors.dispute_shown(
        dispute_services.dispute_appeal(
            dispute_id=params["disputeId"],
            actor_id=call.actor_id,
            reason=params["reason"],
            is_staff=call.is_staff,
            is_arbitrator=call.is_arbitrator,
        )
    )


class DisputeGetParams(Params):
    disputeId = id_field("dispute")


@method(
    name="web3.dispute.get",
    summary="One dispute with its evidence and ruling.",
    group="dispute",
    read_only=True,
    params=DisputeGetParams,
    result=DisputeOut,
    permissions=[PARTIES],
    errors=["E_NOT_FOUND"],
)
def get_dispute(call, params):
    return dispute_selectors.dispute_get(
        dispute_id=params["disputeId"],
        actor_id=call.actor_id,
        is_staff=call.is_staff,
        is_arbitrator=call.is_arbitrator,
    )


class DisputeListParams(Params):
    status = serializers.ChoiceField(choices=Dispute.Status.values, required=False)
    limit = limit_field()
    cursor = cursor_field()


class DisputeListOut(serializers.Serializer):
    items = DisputeOut(many=True)
    nextCursor = serializers.CharField(allow_null=True)


@method(
    name="web3.dispute.list",
    summary="Disputes: the caller's as a party; every dispute for arbitrators.",
    group="dispute",
    read_only=True,
    params=DisputeListParams,
    result=DisputeListOut,
    permissions=[PARTIES],
)
def list_disputes(call, params):
    qs = dispute_selectors.dispute_list(
        actor_id=call.actor_id,
        is_staff=call.is_staff,
        is_arbitrator=call.is_arbitrator,
        filters={"status": params.get("status")},
    )
    page = paginate(qs, params, lambda dispute: dispute)
    dispute_selectors.disputes_sealed(page["items"])
    return page


@status.part("market")
def _market_part() -> tuple[str, str]:
    from market.selectors.tasks import market_counts

    c = market_counts()
    state = "degraded" if c["overduePayouts"] else "ok"
    return state, (
        f"{c['openTasks']} open tasks, {c['awardedTasks']} awarded, {c['liveDisputes']} live disputes, "
        f"{c['overduePayouts']} payouts overdue"
    )
