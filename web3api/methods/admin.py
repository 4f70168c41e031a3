"""web3.admin.overview|resources|leases|ledger|disputes (staff): the operator's figures, the same the
console's staff pages show; web3.admin.retrySweep runs a failed money sweep again."""

from django.conf import settings
from rest_framework import serializers

from market.errors import InvalidArgument
from market.models import Dispute, Lease, Resource, Transfer
from market.selectors import operator, operator_lists
from web3api.overview import overview_read
from web3api.pagination import paginate
from web3api.registry import method
from web3api.serializers import Params, StrictDateTimeField, actor_id_field, cursor_field, limit_field
from web3api.shapes.operator import (
    OperatorDisputesResult,
    OperatorLeasesResult,
    OperatorLedgerResult,
    OperatorResourcesResult,
    OverviewResult,
)

STAFF = ["staff only"]


class OverviewParams(Params):
    fresh = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Compute the figures now (whole-table counts and every health check: costly on a large "
        "market) instead of reading those the monitor.overview job stored.",
    )


@method(
    name="web3.admin.overview",
    summary="The market at a glance: health by part, the settlement queue, volume, supply, disputes, "
    "alerts, anchoring and invariants.",
    group="admin",
    read_only=True,
    auth="staff",
    params=OverviewParams,
    result=OverviewResult,
    permissions=STAFF,
    description="The figures the monitor.overview job last computed (every sweep interval), so a read "
    "costs the same however large the market is: computedAt says when, stored whether they were read "
    "back (false: computed for this call, as with fresh, or before the job first ran). "
    "settlements.oldest lists the oldest open settlements with what each waits for "
    "(waitingFor) and until when (dueAt); invariants show the monitor job's last reading (they scan "
    "whole tables); volume is what escrow released to payees.",
)
def overview(call, params):
    return overview_read(fresh=params.get("fresh", False))


class ResourcesParams(Params):
    status = serializers.ChoiceField(choices=Resource.Status.values, required=False, help_text="Default: any.")
    kind = serializers.ChoiceField(choices=Resource.Kind.values, required=False)
    providerActorId = actor_id_field(required=False)
    currency = serializers.CharField(max_length=10, required=False)
    tag = serializers.CharField(max_length=40, required=False)
    limit = limit_field()
    cursor = cursor_field()


@method(
    name="web3.admin.resources",
    summary="Every resource with its publish state, index sync and health, provider and active leases.",
    group="admin",
    read_only=True,
    auth="staff",
    params=ResourcesParams,
    result=OperatorResourcesResult,
    permissions=STAFF,
)
def resources(call, params):
    filters = {k: params.get(k) for k in ("status", "kind", "providerActorId", "currency", "tag")}
    page = paginate(operator_lists.operator_resources(filters=filters), params)
    page["items"] = operator_lists.operator_resources_shown(page["items"])
    return page


class LeasesParams(Params):
    status = serializers.ChoiceField(choices=Lease.Status.values, required=False)
    resourceId = serializers.CharField(max_length=40, required=False)
    consumerActorId = actor_id_field(required=False)
    providerActorId = actor_id_field(required=False)
    stuck = serializers.BooleanField(required=False, help_text="Only leases stuck past their expiry (or only not).")
    limit = limit_field()
    cursor = cursor_field()


@method(
    name="web3.admin.leases",
    summary="Every lease with its settlement and payment progress; the stuck ones; failed money sweeps.",
    group="admin",
    read_only=True,
    auth="staff",
    params=LeasesParams,
    result=OperatorLeasesResult,
    permissions=STAFF,
    description="A lease is stuck when it is active more than the expiry sweep's grace past expiresAt. "
    "failedSweeps names the money sweeps that failed in the last day; web3.admin.retrySweep runs one again.",
)
def leases(call, params):
    filters = {k: params.get(k) for k in ("status", "resourceId", "consumerActorId", "providerActorId", "stuck")}
    page = paginate(operator_lists.operator_leases(filters=filters), params)
    page["stuck"] = operator.stuck_lease_count()
    page["failedSweeps"] = operator.failed_sweeps()
    return page


class LedgerParams(Params):
    currency = serializers.CharField(max_length=10, required=False)
    code = serializers.ChoiceField(choices=Transfer.Code.values, required=False)
    actorId = serializers.CharField(max_length=42, required=False, help_text="Transfers touching its accounts.")
    reference = serializers.CharField(max_length=120, required=False, help_text="e.g. lease:lease_...")
    since = StrictDateTimeField(required=False)
    until = StrictDateTimeField(required=False)
    traceType = serializers.ChoiceField(choices=operator_lists.TRACE_TYPES, required=False)
    traceId = serializers.CharField(max_length=64, required=False)
    limit = limit_field()
    cursor = cursor_field()


@method(
    name="web3.admin.ledger",
    summary="Every transfer, the newest audit events with their checkpoints, and the trace of one object.",
    group="admin",
    read_only=True,
    auth="staff",
    params=LedgerParams,
    result=OperatorLedgerResult,
    permissions=STAFF,
    errors=["E_NOT_FOUND"],
    unexpressible={
        "traceId": "given together with traceType; an object with no audit events is E_NOT_FOUND",
        "traceType": "given together with traceId",
    },
    description="With traceType and traceId, `trace` has that object's audit events (each with the tree "
    "size of its checkpoint; web3.audit.proof gives the inclusion proof) and the transfers naming it.",
)
def ledger(call, params):
    if ("traceType" in params) != ("traceId" in params):
        missing = "traceId" if "traceType" in params else "traceType"
        raise InvalidArgument.field(missing, "traceType and traceId go together")
    filters = {k: params.get(k) for k in ("currency", "code", "actorId", "reference")}
    for k in ("since", "until"):
        if params.get(k):
            filters[k] = params[k].isoformat()
    page = paginate(operator_lists.operator_transfers(filters=filters), params)
    trace = None
    if "traceType" in params:
        trace = operator_lists.object_trace(
            object_type=params["traceType"], object_id=params["traceId"], actor_id=call.actor_id
        )
    return {
        **page,
        "recentEvents": operator_lists.recent_events(),
        "checkpoint": operator_lists.latest_checkpoint(),
        "trace": trace,
    }


class DisputesParams(Params):
    status = serializers.ChoiceField(choices=Dispute.Status.values, required=False)
    arbitratorActorId = actor_id_field(required=False)
    partyActorId = actor_id_field(required=False, help_text="Disputes where this actor is creator or deliverer.")
    limit = limit_field()
    cursor = cursor_field()


@method(
    name="web3.admin.disputes",
    summary="Every dispute with its amount, evidence, ruling and its seal, appeal state and age.",
    group="admin",
    read_only=True,
    auth="staff",
    params=DisputesParams,
    result=OperatorDisputesResult,
    permissions=STAFF,
)
def disputes(call, params):
    filters = {k: params.get(k) for k in ("status", "arbitratorActorId", "partyActorId")}
    page = paginate(operator_lists.operator_disputes(actor_id=call.actor_id, filters=filters), params)
    page["items"] = operator_lists.operator_disputes_shown(page["items"])
    return page


class RetrySweepParams(Params):
    job = serializers.ChoiceField(choices=list(settings.WEB3_MONEY_JOBS), help_text="A money sweep.")


class RetrySweepResult(serializers.Serializer):
    job = serializers.CharField()
    result = serializers.DictField(help_text="What the sweep did (counts by outcome).")


@method(
    name="web3.admin.retrySweep",
    summary="Run one money sweep now (after it failed), as beat would.",
    group="admin",
    auth="staff",
    atomic=False,
    moves_money=True,
    params=RetrySweepParams,
    result=RetrySweepResult,
    permissions=STAFF,
    risk="medium",
    description="Sweeps find their work by state, so running one again, or while beat runs it, is safe: "
    "what is already done is not done twice. A failure is recorded as the job's (failedSweeps).",
)
def retry_sweep(call, params):
    from openclaw.periodic import run_job

    result = run_job(params["job"])
    return {"job": params["job"], "result": result if isinstance(result, dict) else {"done": result}}
